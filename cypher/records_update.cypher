// Rewrites changed records (and fills in stubs) in place, then links each to its identifiers;
// the old links were removed by identifiers_unlink in the same transaction. A null removes
// the property. $seq: the load sequence number of this write. Parameters: $seq, $rows (list of [key, source, source_id, attrs, norm, updated_at,
// loaded_at, batch_id, content_hash, history, full_name, has]; has = [[identifier key, field], ...]).
UNWIND $rows AS row
MATCH (r:Record {key: row[0]})
REMOVE r:RecordStub
SET r.source = row[1], r.source_id = row[2], r.attrs = row[3], r.norm = row[4],
    r.updated_at = row[5], r.loaded_at = row[6], r.batch_id = row[7], r.content_hash = row[8],
    r.history = row[9], r.full_name = row[10], r.load_seq = $seq
WITH r, row
UNWIND row[11] AS h
MATCH (i:Identifier {key: h[0]})
CREATE (r)-[:HAS {field: h[1]}]->(i)
