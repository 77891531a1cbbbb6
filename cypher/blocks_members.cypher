// Block key -> member record keys. Parameters: $keys (block keys).
UNWIND $keys AS k
MATCH (:Block {key: k})<-[:IN_BLOCK]-(r:Record)
RETURN k AS block, r.key AS record
