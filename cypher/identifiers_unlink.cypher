// Removes every HAS link of the given records (about to be rewritten by an update), then
// deletes the identifiers no record links to any more (an identifier's degree is its number
// of HAS links: see identifiers_get.cypher). Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (r:Record {key: k})-[h:HAS]->(i:Identifier)
DELETE h
WITH DISTINCT i
WHERE NOT EXISTS { (i)<-[:HAS]-() }
DELETE i
