// Account id -> its parent account. Parameters: $keys (account ids).
// One row: pairs [asked key, found] (a row per pair costs the client more than a list).
UNWIND $keys AS k
MATCH (:Entity {id: k})-[:CHILD_OF]->(p:Entity)
RETURN collect([k, p.id]) AS pairs
