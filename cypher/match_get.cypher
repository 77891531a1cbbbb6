// The MATCHED edge of one pair. Parameters: $a, $b (record keys, a < b).
MATCH (a:Record {key: $a})-[m:MATCHED]->(b:Record {key: $b})
RETURN a.key AS a, b.key AS b, m.score AS score, m.rule_version AS rule_version,
       m.evidence AS evidence, m.decision AS decision, m.run_id AS run_id
