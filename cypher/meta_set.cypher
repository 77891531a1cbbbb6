// Creates or replaces one meta value. Parameters: $key, $value.
MERGE (m:Meta {key: $key})
SET m.value = $value
