// Identifiers carried by at least $min_degree records, most shared first (degree index).
// Parameters: $min_degree, $limit.
MATCH (i:Identifier)
WHERE i.degree >= $min_degree
RETURN i.kind AS kind, i.value AS value, i.degree AS degree
ORDER BY degree DESC, i.key
LIMIT $limit
