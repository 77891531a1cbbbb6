// Marks an active override removed (it stays on record); returns it, or nothing if none is active.
// Parameters: $id, $at, $actor, $reason.
MATCH (o:Override {id: $id})
WHERE o.removed_at IS NULL
SET o.removed_at = $at, o.removed_by = $actor, o.removed_reason = $reason
RETURN o {.*} AS override
