// Writes a chunk of records with their identifier links in one statement: creates missing
// identifiers (their degree is not stored: reads count HAS links, see identifiers_get.cypher),
// then creates new records and rewrites changed ones (and fills in stubs; their old links were
// removed by identifiers_unlink in the same transaction), links each record to its identifiers
// by position in the collected identifier list, so no link costs an index lookup, and last
// takes the load sequence number (the first chunk of an upsert: $seq null) or reuses it (later
// chunks) and stamps it on the chunk's records.
// The number is taken last because the counter's write lock is held to commit: that keeps
// load numbers increasing in commit order (what incremental resolution picks up, see
// load_watermark.cypher), and taken last, it lets a concurrent writer run all of this while
// another commits, waiting only for the counter. Lock order: identifiers are merged in key
// order ($identifiers is sorted), so writers sharing new identifiers wait rather than
// deadlock; the locks a link takes on its identifier are deferred by the server to commit
// (taken in its own order), and the counter comes last. That order holds within one
// statement: a transaction of several (a small file's one-transaction load, an upsert of more
// than one chunk) merges the next chunk's identifiers holding what the last one took, counter
// included, so it can deadlock with another writer; the server aborts one of the two and the
// driver retries it (tests/test_write_retries.py, test_concurrent_writes.py).
// collect() keeps the order of the UNWIND; the key check turns any mismatch into a failed
// transaction (a missing node) rather than a wrong link. Rows are lists (cheaper for the
// driver to pack than maps); a null property is not stored (on create) or removed (on update).
// Returns the number used.
// Parameters: $name (the load counter), $seq (null, or the number the first chunk took),
// $identifiers (list of [key, kind], sorted by key), $creates and $updates (lists of [key,
// source, source_id, content_hash, full_name, body, positions in $identifiers]).
CALL () {
  UNWIND $identifiers AS row
  MERGE (i:Identifier {key: row[0]})
  ON CREATE SET i.kind = row[1], i.value = substring(row[0], size(row[1]) + 1)
  RETURN collect(i) AS nodes
}
WITH CASE WHEN [n IN nodes | n.key] = [row IN $identifiers | row[0]] THEN nodes END AS nodes
CALL (nodes) {
  UNWIND $creates AS row
  CREATE (r:Record {key: row[0], source: row[1], source_id: row[2], content_hash: row[3],
                    full_name: row[4], body: row[5]})
  WITH r, row
  CALL (r, row, nodes) {
    UNWIND row[6] AS at
    WITH r, nodes[at] AS i
    CREATE (r)-[:HAS]->(i)
  }
  RETURN collect(r) AS created
}
CALL (nodes) {
  UNWIND $updates AS row
  MATCH (r:Record {key: row[0]})
  REMOVE r:RecordStub
  SET r.source = row[1], r.source_id = row[2], r.content_hash = row[3], r.full_name = row[4],
      r.body = row[5]
  WITH r, row
  CALL (r, row, nodes) {
    UNWIND row[6] AS at
    WITH r, nodes[at] AS i
    CREATE (r)-[:HAS]->(i)
  }
  RETURN collect(r) AS updated
}
WITH created + updated AS records
MERGE (c:Counter {name: $name})
SET c.value = coalesce(c.value, 0) + CASE WHEN $seq IS NULL THEN 1 ELSE 0 END
WITH records, coalesce($seq, c.value) AS seq
FOREACH (r IN records | SET r.load_seq = seq)
RETURN seq
