// Neo4jStore.records_and_identifiers: records by key (stubs skipped), as records_get, with each
// HAS link's identifier degree: [kind, value, field, degree]. Parameters: $keys.
UNWIND $keys AS k
MATCH (r:Record {key: k})
WHERE NOT r:RecordStub
RETURN r {.*} AS record, [(r)-[h:HAS]->(i:Identifier) | [i.kind, i.value, h.field, i.degree]] AS identifiers
