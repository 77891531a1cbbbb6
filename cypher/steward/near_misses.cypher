// Steward query: the review queue, pairs that scored just under the threshold,
// best first, with the entities each record currently belongs to.
// :param limit => 50
MATCH (a:Record)-[m:MATCHED {decision: 'near_miss'}]->(b:Record)
OPTIONAL MATCH (a)-[:MEMBER_OF]->(ea:Entity)
OPTIONAL MATCH (b)-[:MEMBER_OF]->(eb:Entity)
RETURN a.key AS a, b.key AS b, m.score AS score, m.rule_version AS rule_version,
       m.evidence AS evidence, ea.id AS entity_a, eb.id AS entity_b
ORDER BY score DESC, a, b
LIMIT $limit
