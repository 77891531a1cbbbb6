// Person id -> the account it belongs to. Parameters: $keys (person ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})-[:BELONGS_TO]->(a:Entity)
RETURN k AS lhs, a.id AS rhs
