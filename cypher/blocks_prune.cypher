// Deletes block nodes left without members. Parameters: $keys (block keys to check).
UNWIND $keys AS k
MATCH (b:Block {key: k})
WHERE NOT (b)<-[:IN_BLOCK]-()
DELETE b
