// Keys of records inserted or updated at or after a load time, sorted (stubs have no load time).
// Parameters: $since (ISO timestamp; '' for all).
MATCH (r:Record)
WHERE r.loaded_at >= $since
RETURN r.key AS key
ORDER BY key
