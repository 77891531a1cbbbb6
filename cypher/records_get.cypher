// Loaded records by key (stubs are skipped): the body holds the identifiers with the source
// field each came from, so no HAS link is read. Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (r:Record {key: k})
WHERE NOT r:RecordStub
RETURN r.key AS key, r.source AS source, r.source_id AS source_id, r.content_hash AS content_hash,
       r.body AS body
