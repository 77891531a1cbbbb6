// What the store already holds for a batch of record keys, so an upsert can classify each row
// as inserted / updated / unchanged by content hash. A stub (an endpoint created by a match,
// membership or block before its record was loaded) has no hash and counts as new.
// Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (r:Record {key: k})
RETURN r.key AS key, r.content_hash AS content_hash, r.loaded_at AS loaded_at,
       r.history AS history, r:RecordStub AS stub
