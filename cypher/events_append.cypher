// Appends history events, numbering them from the event_seq counter in the same statement: the
// counter's write lock is held to commit, so seq values are unique and increase in commit order.
// Returns the number before the first one (the events get base + 1, base + 2, ... in row order).
// Parameters: $name (the counter name), $rows (list of {entity_id, type, at, run_id, rule_version,
// cause, actor, details (JSON)}).
MERGE (c:Counter {name: $name})
SET c.value = coalesce(c.value, 0) + size($rows)
WITH c.value - size($rows) AS base
CALL (base) {
  UNWIND range(0, size($rows) - 1) AS n
  CREATE (e:Event)
  SET e = $rows[n], e.seq = base + n + 1
}
RETURN base
