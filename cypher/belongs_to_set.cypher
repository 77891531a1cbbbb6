// Links person entities to their account entity (after belongs_to_clear); both must exist.
// Parameters: $rows (list of [person id, account id]).
UNWIND $rows AS row
MATCH (p:Entity {id: row[0]}), (a:Entity {id: row[1]})
CREATE (p)-[:BELONGS_TO]->(a)
