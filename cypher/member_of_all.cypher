// Every record key -> entity id (the partition a full resolution compares against). No parameters.
MATCH (r:Record)-[:MEMBER_OF]->(e:Entity)
RETURN r.key AS lhs, e.id AS rhs
