// Links records to their person entity (after member_of_clear). A record not loaded yet becomes a
// stub; a link to an entity that does not exist is not made.
// Parameters: $rows (list of [record key, entity id]).
UNWIND $rows AS row
MATCH (e:Entity {id: row[1]})
MERGE (r:Record {key: row[0]})
ON CREATE SET r:RecordStub
CREATE (r)-[:MEMBER_OF]->(e)
