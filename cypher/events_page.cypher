// History in append order from a seq on (seq index), filtered by type and time.
// Parameters: $after_seq (integer; -1 for the start), $types (list or null), $since (ISO time or null), $limit.
MATCH (e:Event)
WHERE e.seq > $after_seq
  AND ($types IS NULL OR e.type IN $types)
  AND ($since IS NULL OR e.at >= $since)
RETURN e {.*} AS event
ORDER BY e.seq
LIMIT $limit
