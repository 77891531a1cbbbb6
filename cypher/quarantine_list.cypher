// Quarantined rows in arrival order (id index), optionally of one source.
// Parameters: $source (string or null), $limit.
MATCH (q:Quarantine)
WHERE q.id > 0 AND ($source IS NULL OR q.source = $source)
RETURN q {.*} AS row
ORDER BY q.id
LIMIT $limit
