// Account id -> its parent account. Parameters: $keys (account ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})-[:CHILD_OF]->(p:Entity)
RETURN k AS lhs, p.id AS rhs
