// Keys of records inserted or updated by writes after a load watermark, sorted (stubs have
// no load sequence). Parameters: $since (a load_seq value; -1 for all).
MATCH (r:Record)
WHERE r.load_seq > $since
RETURN r.key AS key
ORDER BY key
