// Entity id -> its member record keys. Parameters: $keys (entity ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})<-[:MEMBER_OF]-(r:Record)
RETURN k AS rhs, r.key AS lhs
