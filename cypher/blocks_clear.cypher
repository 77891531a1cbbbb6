// Removes the given records' blocking-key links before they are replaced; returns the block
// keys that lost a member so emptied blocks can be pruned. Parameters: $keys (record keys).
UNWIND $keys AS k
MATCH (:Record {key: k})-[l:IN_BLOCK]->(b:Block)
DELETE l
RETURN DISTINCT b.key AS block
