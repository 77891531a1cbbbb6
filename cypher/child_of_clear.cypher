// Removes the CHILD_OF link of each given account entity. Parameters: $keys (account ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})-[l:CHILD_OF]->(:Entity)
DELETE l
