// MATCHED edges with at least one end in the given records, optionally of one decision kind.
// Parameters: $keys (record keys), $decision (string or null for all).
UNWIND $keys AS k
MATCH (:Record {key: k})-[m:MATCHED]-()
WHERE $decision IS NULL OR m.decision = $decision
WITH DISTINCT m
RETURN startNode(m).key AS a, endNode(m).key AS b, m.score AS score, m.rule_version AS rule_version,
       m.evidence AS evidence, m.decision AS decision, m.run_id AS run_id
