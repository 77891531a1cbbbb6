// Records a steward override (link / cannot-link); fails on a duplicate id (unique constraint).
// Parameters: $props ({id, kind, a, b, actor, reason, created_at, removed_at, removed_by, removed_reason}).
CREATE (o:Override)
SET o = $props
