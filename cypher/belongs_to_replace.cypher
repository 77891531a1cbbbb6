// Replaces the BELONGS_TO link of each given person entity: the old link goes, and a new one is
// made when an account id is given and both entities exist.
// Parameters: $rows (list of [person id, account id or null]; each person id once).
UNWIND $rows AS row
OPTIONAL MATCH (:Entity {id: row[0]})-[old:BELONGS_TO]->(:Entity)
DELETE old
WITH DISTINCT row
WHERE row[1] IS NOT NULL
MATCH (p:Entity {id: row[0]}), (a:Entity {id: row[1]})
CREATE (p)-[:BELONGS_TO]->(a)
