// Links records to their blocking keys (block nodes are shared, created on first use). A record
// not loaded yet is created as a stub so the link has an end.
// Parameters: $rows (list of {key: record key, blocks: [block key]}).
UNWIND $rows AS row
MERGE (r:Record {key: row.key})
ON CREATE SET r:RecordStub
WITH r, row
UNWIND row.blocks AS bk
MERGE (b:Block {key: bk})
MERGE (r)-[:IN_BLOCK]->(b)
