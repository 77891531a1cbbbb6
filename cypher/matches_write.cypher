// Inserts or replaces scored pair decisions: one MATCHED edge per unordered pair, stored a->b
// with a < b (MatchEdge normalizes). Endpoints not loaded yet are created as stubs.
// Parameters: $rows (list of {a, b, score, rule_version, evidence (JSON), decision, run_id}).
UNWIND $rows AS row
MERGE (a:Record {key: row.a})
ON CREATE SET a:RecordStub
MERGE (b:Record {key: row.b})
ON CREATE SET b:RecordStub
MERGE (a)-[m:MATCHED]->(b)
SET m.score = row.score, m.rule_version = row.rule_version, m.evidence = row.evidence,
    m.decision = row.decision, m.run_id = row.run_id
