// Neo4jStore.region_step: one step of an incremental run's closed region, in one round trip.
// For the frontier records ($keys): their entities (owners: [record, entity id]), every
// member of those entities (members: [entity id, record]), their match edges of decision
// $decision (each once), and the active overrides naming one of them.
// USING INDEX pins each keyed lookup to the record-key seek: planned on a nearly empty store
// (after a wipe, in tests), the edge part otherwise starts from the MATCHED(decision) index
// and reads every edge of that decision once per key (tests/test_neo4j_plans.py).
CALL () {
  UNWIND $keys AS k
  MATCH (r:Record {key: k})-[:MEMBER_OF]->(e:Entity)
  USING INDEX r:Record(key)
  RETURN collect([k, e.id]) AS owners, collect(DISTINCT e) AS entities
}
CALL (entities) {
  UNWIND entities AS e
  MATCH (e)<-[:MEMBER_OF]-(r:Record)
  RETURN collect([e.id, r.key]) AS members
}
CALL () {
  UNWIND $keys AS k
  MATCH (r:Record {key: k})-[m:MATCHED]-()
  USING INDEX r:Record(key)
  WHERE m.decision = $decision
  WITH DISTINCT m
  RETURN collect({a: startNode(m).key, b: endNode(m).key, score: m.score, rule_version: m.rule_version,
                  evidence: m.evidence, decision: m.decision, run_id: m.run_id}) AS matches
}
CALL () {
  MATCH (o:Override)
  WHERE o.removed_at IS NULL AND (o.a IN $keys OR o.b IN $keys)
  RETURN collect(o {.*}) AS overrides
}
RETURN owners, members, matches, overrides
