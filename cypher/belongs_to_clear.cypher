// Removes the BELONGS_TO link of each given person entity. Parameters: $keys (person ids).
UNWIND $keys AS k
MATCH (:Entity {id: k})-[l:BELONGS_TO]->(:Entity)
DELETE l
