// Neo4jStore.replace_matches_touching: matches_delete_touching then matches_write, as one
// statement (an incremental run's rescored pairs: one round trip instead of two). Returns
// nothing, so that it can ride with a later statement. Parameters: $keys (record keys), $rows
// (as matches_write).
CALL () {
  UNWIND $keys AS k
  MATCH (:Record {key: k})-[m:MATCHED]-()
  WITH DISTINCT m
  DELETE m
}
CALL () {
  UNWIND $rows AS row
  MERGE (a:Record {key: row.a})
  ON CREATE SET a:RecordStub
  MERGE (b:Record {key: row.b})
  ON CREATE SET b:RecordStub
  MERGE (a)-[m:MATCHED]->(b)
  SET m.score = row.score, m.rule_version = row.rule_version, m.evidence = row.evidence,
      m.decision = row.decision, m.run_id = row.run_id
}
