// Stores a new API key record (only the key's hash); a duplicate id or hash fails (constraints).
// Parameters: $props ({id, name, role, key_hash, created_at, revoked_at, hint}).
CREATE (k:ApiKey)
SET k = $props
