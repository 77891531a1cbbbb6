// What the store already holds for a batch of record keys, so an upsert can classify each row
// as inserted / updated / unchanged by content hash. A stub (an endpoint created by a match,
// membership or block before its record was loaded) has no hash and counts as new. The body
// (JSON) is returned only for changed records, whose load time and history move into history.
// Parameters: $rows (list of [record key, content hash of the new version]).
UNWIND $rows AS row
MATCH (r:Record {key: row[0]})
RETURN r.key AS key, r.content_hash AS content_hash, r:RecordStub AS stub,
       CASE WHEN r.content_hash <> row[1] THEN r.body END AS body
