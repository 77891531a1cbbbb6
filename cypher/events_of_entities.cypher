// History of given entities in append order (entity index), filtered by type, time and seq.
// Parameters: $ids (entity ids), $types (list or null), $since (ISO time or null),
// $after_seq (integer or null), $limit.
UNWIND $ids AS id
MATCH (e:Event {entity_id: id})
WHERE ($types IS NULL OR e.type IN $types)
  AND ($since IS NULL OR e.at >= $since)
  AND ($after_seq IS NULL OR e.seq > $after_seq)
RETURN e {.*} AS event
ORDER BY e.seq
LIMIT $limit
