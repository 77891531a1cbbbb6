// One page of MATCHED edges ordered by (a, b), keyset-paginated: walks the lower end's key index
// in order. Parameters: $after_a, $after_b (last pair of the previous page, '' first),
// $decision (string or null for all), $limit.
MATCH (a:Record)-[m:MATCHED]->(b:Record)
WHERE a.key >= $after_a AND (a.key > $after_a OR b.key > $after_b)
  AND ($decision IS NULL OR m.decision = $decision)
RETURN a.key AS a, b.key AS b, m.score AS score, m.rule_version AS rule_version,
       m.evidence AS evidence, m.decision AS decision, m.run_id AS run_id
ORDER BY a, b
LIMIT $limit
