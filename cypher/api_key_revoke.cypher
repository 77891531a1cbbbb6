// Marks an active key revoked (it stays on record); returns it, or nothing if none is active.
// Parameters: $id, $at.
MATCH (k:ApiKey {id: $id})
WHERE k.revoked_at IS NULL
SET k.revoked_at = $at
RETURN k {.*} AS key
