// Reads one meta value. Parameters: $key.
MATCH (m:Meta {key: $key})
RETURN m.value AS value
