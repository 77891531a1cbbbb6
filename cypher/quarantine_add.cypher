// Appends rejected rows, numbering them from the quarantine_id counter in the same statement: the
// counter's write lock is held to commit, so ids are unique and increase in commit order.
// Returns the number before the first id (rows get base + 1, base + 2, ... in row order).
// Parameters: $name (the counter name), $rows (list of {source, file, line, raw, reason, batch_id, at}).
MERGE (c:Counter {name: $name})
SET c.value = coalesce(c.value, 0) + size($rows)
WITH c.value - size($rows) AS base
CALL (base) {
  UNWIND range(0, size($rows) - 1) AS n
  CREATE (q:Quarantine)
  SET q = $rows[n], q.id = base + n + 1
}
RETURN base
