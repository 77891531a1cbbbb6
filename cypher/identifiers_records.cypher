// For each identifier, the sorted keys of the records carrying it, at most $limit each.
// Parameters: $keys (list of identifier keys), $limit (integer).
UNWIND $keys AS k
MATCH (i:Identifier {key: k})<-[:HAS]-(r:Record)
WITH DISTINCT k, r.key AS record
ORDER BY k, record
WITH k, collect(record) AS records
RETURN k AS key, records[..$limit] AS records
