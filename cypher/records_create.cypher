// Creates new records and links each to its identifiers (which identifiers_add made exist).
// Rows are lists (cheaper for the driver to pack than maps); a null property is not stored.
// $seq: the load sequence number of this write (what incremental resolution picks up).
// Parameters: $seq, $rows (list of [key, source, source_id, attrs, norm, updated_at, loaded_at,
// batch_id, content_hash, history, full_name, has]; has = [[identifier key, field], ...]).
UNWIND $rows AS row
CREATE (r:Record {key: row[0], source: row[1], source_id: row[2], attrs: row[3], norm: row[4],
                  updated_at: row[5], loaded_at: row[6], batch_id: row[7], content_hash: row[8],
                  history: row[9], full_name: row[10], load_seq: $seq})
WITH r, row
UNWIND row[11] AS h
MATCH (i:Identifier {key: h[0]})
CREATE (r)-[:HAS {field: h[1]}]->(i)
