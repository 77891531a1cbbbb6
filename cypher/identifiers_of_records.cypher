// For each record, its distinct identifiers with their degrees (what a resolver needs to find
// candidates and skip hubs). Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (:Record {key: k})-[:HAS]->(i:Identifier)
RETURN DISTINCT k AS record, i.kind AS kind, i.value AS value, i.degree AS degree
