// Identifier nodes by key with their degree. Parameters: $keys (list of identifier keys).
UNWIND $keys AS k
MATCH (i:Identifier {key: k})
RETURN i.key AS key, i.kind AS kind, i.value AS value, i.degree AS degree
