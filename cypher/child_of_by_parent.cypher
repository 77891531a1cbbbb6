// Account id -> its child accounts. Parameters: $keys (account ids).
// One row: pairs [asked key, found] (a row per pair costs the client more than a list).
UNWIND $keys AS k
MATCH (:Entity {id: k})<-[:CHILD_OF]-(c:Entity)
RETURN collect([k, c.id]) AS pairs
