// Rewrites schema-1 records into the body layout (schema version 2): the body replaces the
// separate value properties, and each record keeps one HAS link per identifier, without the
// `field` property (the body lists the fields). Only records still without a body are
// touched, so running a page twice (a resumed or concurrent upgrade) changes nothing more.
// One link per distinct record is also what makes an identifier's HAS count its degree.
// Parameters: $rows (list of [record key, body JSON]).
UNWIND $rows AS row
MATCH (r:Record {key: row[0]})
WHERE r.body IS NULL AND NOT r:RecordStub
SET r.body = row[1]
REMOVE r.attrs, r.norm, r.updated_at, r.loaded_at, r.batch_id, r.history
WITH r
MATCH (r)-[h:HAS]->(i:Identifier)
WITH r, i, collect(h) AS links
FOREACH (extra IN tail(links) | DELETE extra)
WITH head(links) AS kept
REMOVE kept.field
