// Appends history events (seq already reserved with counter_reserve in the same transaction).
// Parameters: $rows (list of {seq, entity_id, type, at, run_id, rule_version, cause, actor, details (JSON)}).
UNWIND $rows AS row
CREATE (e:Event)
SET e = row
