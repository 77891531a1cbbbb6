// One page of one source's records in key order. Keys are "source:source_id", so a source is
// one range of the key index. Parameters: $prefix (the source name and ':'), $after (last key
// of the previous page, '' first), $limit.
MATCH (r:Record)
WHERE r.key STARTS WITH $prefix AND r.key > $after AND NOT r:RecordStub
WITH r
ORDER BY r.key
LIMIT $limit
RETURN r.key AS key, r.source AS source, r.source_id AS source_id, r.content_hash AS content_hash,
       r.body AS body
