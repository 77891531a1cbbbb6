// Person id -> the account it belongs to. Parameters: $keys (person ids).
// One row: pairs [asked key, found] (a row per pair costs the client more than a list).
UNWIND $keys AS k
MATCH (:Entity {id: k})-[:BELONGS_TO]->(a:Entity)
RETURN collect([k, a.id]) AS pairs
