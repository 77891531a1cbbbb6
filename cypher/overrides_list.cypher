// Overrides by creation time, optionally only active ones and only those touching given records.
// Parameters: $active_only (boolean), $keys (record keys or null for all).
MATCH (o:Override)
WHERE (NOT $active_only OR o.removed_at IS NULL)
  AND ($keys IS NULL OR o.a IN $keys OR o.b IN $keys)
RETURN o {.*} AS override
ORDER BY o.created_at, o.id
