// Appends rejected rows (ids already reserved with counter_reserve in the same transaction).
// Parameters: $rows (list of {id, source, file, line, raw, reason, batch_id, at}).
UNWIND $rows AS row
CREATE (q:Quarantine)
SET q = row
