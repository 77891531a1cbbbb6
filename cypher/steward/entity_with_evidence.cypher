// Steward query: one entity with its member records, their identifiers and the
// MATCHED edges between members (score, rule version, evidence JSON).
// Paste into Neo4j Browser with a parameter, e.g.  :param entityId => 'P-1A2B3C4D5E6F'
// Renders as a graph: the entity, its records, the shared identifiers that are the evidence.
MATCH (e:Entity {id: $entityId})<-[m:MEMBER_OF]-(r:Record)
OPTIONAL MATCH (r)-[h:HAS]->(i:Identifier)
OPTIONAL MATCH (r)-[x:MATCHED]-(o:Record)-[:MEMBER_OF]->(e)
RETURN e, m, r, h, i, x, o
