// Rewrites changed records (and fills in stubs) in place, then links each to its identifiers;
// the old links were removed by identifiers_unlink in the same transaction. A null removes
// the property. $seq: the load sequence number of this write.
// Parameters: $seq, $rows (list of [key, source, source_id, content_hash, full_name, body,
// identifier keys]), as records_create.
UNWIND $rows AS row
MATCH (r:Record {key: row[0]})
REMOVE r:RecordStub
SET r.source = row[1], r.source_id = row[2], r.content_hash = row[3], r.full_name = row[4],
    r.body = row[5], r.load_seq = $seq
WITH r, row
UNWIND row[6] AS k
MATCH (i:Identifier {key: k})
CREATE (r)-[:HAS]->(i)
