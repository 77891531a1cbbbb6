// Account id -> the persons belonging to it. Parameters: $keys (account ids).
// One row: pairs [asked key, found] (a row per pair costs the client more than a list).
UNWIND $keys AS k
MATCH (:Entity {id: k})<-[:BELONGS_TO]-(p:Entity)
RETURN collect([k, p.id]) AS pairs
