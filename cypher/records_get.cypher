// Loaded records by key with their identifier links (stubs are skipped).
// Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (r:Record {key: k})
WHERE NOT r:RecordStub
RETURN r {.*} AS record, [(r)-[h:HAS]->(i:Identifier) | [i.kind, i.value, h.field]] AS identifiers
