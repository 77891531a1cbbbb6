// Replaces the MEMBER_OF link of each given record: the old link goes, and a new one is made when
// an entity id is given and that entity exists. A record not loaded yet becomes a stub. One
// statement (not a clear and a set) because an incremental run makes one such call per run.
// Parameters: $rows (list of [record key, entity id or null]; each record key once).
UNWIND $rows AS row
OPTIONAL MATCH (:Record {key: row[0]})-[old:MEMBER_OF]->(:Entity)
DELETE old
WITH DISTINCT row
WHERE row[1] IS NOT NULL
MATCH (e:Entity {id: row[1]})
MERGE (r:Record {key: row[0]})
ON CREATE SET r:RecordStub
CREATE (r)-[:MEMBER_OF]->(e)
