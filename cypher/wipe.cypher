// Deletes every node and relationship except the schema_version meta node, in batches of
// 10,000 nodes per inner transaction (needs an auto-commit transaction). Constraints and
// indexes stay. Parameters: $keep_meta (the meta key to keep).
MATCH (n)
WHERE NOT (n:Meta AND n.key = $keep_meta)
CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS
