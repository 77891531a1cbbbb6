// Creates new records and links each to its identifiers (which identifiers_add made exist).
// Rows are lists (cheaper for the driver to pack than maps); a null property is not stored.
// A record is its key, the indexed/filtered values, and one JSON body with everything else
// (see the Neo4jStore docstring): HAS carries no property, one link per distinct identifier.
// $seq: the load sequence number of this write (what incremental resolution picks up).
// Parameters: $seq, $rows (list of [key, source, source_id, content_hash, full_name, body,
// identifier keys]).
UNWIND $rows AS row
CREATE (r:Record {key: row[0], source: row[1], source_id: row[2], content_hash: row[3],
                  full_name: row[4], body: row[5], load_seq: $seq})
WITH r, row
UNWIND row[6] AS k
MATCH (i:Identifier {key: k})
CREATE (r)-[:HAS]->(i)
