// Links accounts to their parent account (after child_of_clear); both must exist.
// Parameters: $rows (list of [child id, parent id]).
UNWIND $rows AS row
MATCH (c:Entity {id: row[0]}), (p:Entity {id: row[1]})
CREATE (c)-[:CHILD_OF]->(p)
