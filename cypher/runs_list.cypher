// Most recent runs first, optionally of one kind. Parameters: $kind (string or null), $limit.
MATCH (r:Run)
WHERE $kind IS NULL OR r.kind = $kind
RETURN r {.*} AS run
ORDER BY r.started_at DESC, r.id DESC
LIMIT $limit
