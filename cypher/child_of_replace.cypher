// Replaces the CHILD_OF link of each given account entity: the old link goes, and a new one is
// made when a parent id is given and both entities exist.
// Parameters: $rows (list of [child id, parent id or null]; each child id once).
UNWIND $rows AS row
OPTIONAL MATCH (:Entity {id: row[0]})-[old:CHILD_OF]->(:Entity)
DELETE old
WITH DISTINCT row
WHERE row[1] IS NOT NULL
MATCH (c:Entity {id: row[0]}), (p:Entity {id: row[1]})
CREATE (c)-[:CHILD_OF]->(p)
