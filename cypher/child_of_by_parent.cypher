// Account id -> its child accounts. Parameters: $keys (account ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})<-[:CHILD_OF]-(c:Entity)
RETURN k AS rhs, c.id AS lhs
