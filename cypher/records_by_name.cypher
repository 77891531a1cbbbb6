// Normalized full name -> sorted keys of the records with exactly that name (full_name index;
// the property mirrors norm.full_name, written by the upsert), at most $limit each.
// Parameters: $keys (names), $limit (integer).
UNWIND $keys AS k
MATCH (r:Record {full_name: k})
WITH k, r.key AS key
ORDER BY k, key
WITH k, collect(key) AS keys
RETURN k AS name, keys[..$limit] AS keys
