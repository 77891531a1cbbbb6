// Schema version 2 -> 3: removes the `degree` property that stores before version 3 kept on
// each identifier (it is now read as the number of HAS links), in batches of $batch rows per
// inner transaction, so a large database never holds one huge transaction (needs an
// auto-commit transaction). Idempotent: an upgrade that stopped half way finishes on the
// next open. Parameters: $batch (identifiers per inner transaction).
MATCH (i:Identifier)
WHERE i.degree IS NOT NULL
CALL (i) { REMOVE i.degree } IN TRANSACTIONS OF $batch ROWS
