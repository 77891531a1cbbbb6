// The key record with this hash, revoked or not (unique index lookup: every API request).
// Parameters: $key_hash.
MATCH (k:ApiKey {key_hash: $key_hash})
RETURN k {.*} AS key
