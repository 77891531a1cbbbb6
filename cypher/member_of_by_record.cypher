// Record key -> the entity it is a member of. Parameters: $keys (record keys).
UNWIND $keys AS k
MATCH (:Record {key: k})-[:MEMBER_OF]->(e:Entity)
RETURN k AS lhs, e.id AS rhs
