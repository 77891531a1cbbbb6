// Record key -> the entity it is a member of. Parameters: $keys (record keys).
// One row: pairs [asked key, found] (a row per pair costs the client more than a list).
UNWIND $keys AS k
MATCH (:Record {key: k})-[:MEMBER_OF]->(e:Entity)
RETURN collect([k, e.id]) AS pairs
