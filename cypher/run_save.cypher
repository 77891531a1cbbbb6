// Creates or updates a run by id. Parameters: $props ({id, kind, started_at, finished_at, rule_version, stats (JSON)}).
MERGE (r:Run {id: $props.id})
SET r = $props
