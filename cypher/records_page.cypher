// One page of loaded records in key order (keyset pagination on the key index).
// Parameters: $after (last key of the previous page, '' first), $limit.
MATCH (r:Record)
WHERE r.key > $after AND NOT r:RecordStub
WITH r
ORDER BY r.key
LIMIT $limit
RETURN r.key AS key, r.source AS source, r.source_id AS source_id, r.content_hash AS content_hash,
       r.body AS body
