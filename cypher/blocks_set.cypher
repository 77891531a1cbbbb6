// Neo4jStore.set_blocks for one batch ($rows: [{key, blocks}]) in one statement: each record
// keeps the links to blocks still in its list, loses the others (a block left with no member
// goes), and gains the new ones. A missing record end becomes a stub, as in blocks_add.
UNWIND $rows AS row
MERGE (r:Record {key: row.key})
ON CREATE SET r:RecordStub
WITH r, row
CALL (r, row) {
  MATCH (r)-[l:IN_BLOCK]->(b:Block)
  WHERE NOT b.key IN row.blocks
  DELETE l
  WITH DISTINCT b
  WHERE NOT (b)<-[:IN_BLOCK]-()
  DELETE b
}
CALL (r, row) {
  UNWIND row.blocks AS bk
  MERGE (b:Block {key: bk})
  MERGE (r)-[:IN_BLOCK]->(b)
}
