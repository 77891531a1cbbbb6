// Sets a meta value only if it is absent (the schema version written on first open).
// Parameters: $key, $value.
MERGE (m:Meta {key: $key})
ON CREATE SET m.value = $value
