// Key records by creation time then id, optionally only active ones.
// Parameters: $include_revoked (boolean).
MATCH (k:ApiKey)
WHERE $include_revoked OR k.revoked_at IS NULL
RETURN k {.*} AS key
ORDER BY k.created_at, k.id
