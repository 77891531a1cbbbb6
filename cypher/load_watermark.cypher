// The newest load sequence number committed so far: records written after it have a higher
// one. The counter's write lock is held by a writer until it commits, so no write with a
// lower number can still be in flight. Parameters: $name (the counter name).
OPTIONAL MATCH (c:Counter {name: $name})
RETURN coalesce(c.value, 0) AS value
