// Neo4jStore.records_and_identifiers: records by key (stubs skipped), as records_get, with each
// linked identifier and its degree: [kind, value, degree]. Degree is a getDegree lookup, not a
// stored property (see identifiers_get.cypher). Parameters: $keys.
UNWIND $keys AS k
MATCH (r:Record {key: k})
WHERE NOT r:RecordStub
RETURN r.key AS key, r.source AS source, r.source_id AS source_id, r.content_hash AS content_hash,
       r.body AS body, [(r)-[:HAS]->(i:Identifier) | [i.kind, i.value, COUNT { (i)<-[:HAS]-() }]] AS identifiers
