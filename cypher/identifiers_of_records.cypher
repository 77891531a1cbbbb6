// For each record, its distinct identifiers with their degrees (what a resolver needs to find
// candidates and skip hubs), as one row: [record key, kind, value, degree] per pair (a row per
// pair costs the client more than a list). Degree is a getDegree lookup, not a stored
// property (see identifiers_get.cypher). Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (:Record {key: k})-[:HAS]->(i:Identifier)
WITH DISTINCT k, i
RETURN collect([k, i.kind, i.value, COUNT { (i)<-[:HAS]-() }]) AS rows
