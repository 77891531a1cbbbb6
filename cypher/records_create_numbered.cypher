// records_create with its load sequence number reserved in the same statement (the $name
// counter, as counter_reserve does): a write of new records only, such as a one-record file,
// costs one round trip instead of two. Parameters: $name, $rows (as records_create).
MERGE (c:Counter {name: $name})
SET c.value = coalesce(c.value, 0) + 1
WITH c.value AS seq
UNWIND $rows AS row
CREATE (r:Record {key: row[0], source: row[1], source_id: row[2], attrs: row[3], norm: row[4],
                  updated_at: row[5], loaded_at: row[6], batch_id: row[7], content_hash: row[8],
                  history: row[9], full_name: row[10], load_seq: seq})
WITH r, row
UNWIND row[11] AS h
MATCH (i:Identifier {key: h[0]})
CREATE (r)-[:HAS {field: h[1]}]->(i)
