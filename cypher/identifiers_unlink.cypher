// Removes every HAS link of the given records (about to be rewritten by an update), lowers each
// identifier's degree by the number of distinct records unlinked from it, and deletes the
// identifiers no record carries any more. Parameters: $keys (list of record keys).
UNWIND $keys AS k
MATCH (r:Record {key: k})-[h:HAS]->(i:Identifier)
WITH i, r, collect(h) AS links
FOREACH (h IN links | DELETE h)
WITH i, count(r) AS unlinked
SET i.degree = i.degree - unlinked
WITH i
WHERE i.degree <= 0
DETACH DELETE i
