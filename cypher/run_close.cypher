// Neo4jStore.close_run: what ends a resolution run, in one statement: append the events
// ($rows, numbered from the $name counter as in events_append), set the Meta values ($meta:
// [key, value] pairs), save the run ($run, as in run_save). Returns the events' base (their
// seq are base + 1 ...; the counter's value when there are none).
CALL () {
  WITH size($rows) AS n
  WHERE n > 0
  MERGE (c:Counter {name: $name})
  SET c.value = coalesce(c.value, 0) + n
  WITH c.value - n AS base
  UNWIND range(0, size($rows) - 1) AS i
  CREATE (e:Event)
  SET e = $rows[i], e.seq = base + i + 1
}
CALL () {
  UNWIND $meta AS kv
  MERGE (m:Meta {key: kv[0]})
  SET m.value = kv[1]
}
MERGE (r:Run {id: $run.id})
SET r = $run
WITH r
OPTIONAL MATCH (c:Counter {name: $name})
RETURN coalesce(c.value, 0) - size($rows) AS base
