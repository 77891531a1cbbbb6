// Account id -> the persons belonging to it. Parameters: $keys (account ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})<-[:BELONGS_TO]-(p:Entity)
RETURN k AS rhs, p.id AS lhs
