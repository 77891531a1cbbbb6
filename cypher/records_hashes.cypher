// Content hash per loaded record key. Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (r:Record {key: k})
WHERE NOT r:RecordStub
RETURN r.key AS key, r.content_hash AS content_hash
