// Source id -> keys of the loaded records carrying it in any source (source_id index).
// Parameters: $keys (source ids).
UNWIND $keys AS k
MATCH (r:Record {source_id: k})
RETURN k AS source_id, r.key AS key
