// Reserves $n consecutive numbers from a named counter and returns the last number before them.
// The counter node's write lock is held to commit, so numbers are unique and increase in commit
// order (event seq, quarantine id). Parameters: $name, $n.
MERGE (c:Counter {name: $name})
SET c.value = coalesce(c.value, 0) + $n
RETURN c.value - $n AS base
