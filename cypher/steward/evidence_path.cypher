// Steward query: the evidence path between two records, i.e. why they are one entity.
// Walks accepted MATCHED edges only (near misses have decision 'near_miss').
// :param a => 'crm:0031x000001'
// :param b => 'billing:C-77'
MATCH (ra:Record {key: $a}), (rb:Record {key: $b})
MATCH p = shortestPath((ra)-[:MATCHED*..12]-(rb))
WHERE all(rel IN relationships(p) WHERE rel.decision = 'match')
RETURN p,
       [rel IN relationships(p) | {score: rel.score, rule_version: rel.rule_version, evidence: rel.evidence}] AS hops
