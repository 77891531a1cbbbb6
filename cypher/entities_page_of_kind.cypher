// Entities of one kind ordered by id, strictly after $after (the (kind, id) index gives the order).
// Parameters: $kind, $after ('' for the first page), $limit.
MATCH (e:Entity)
WHERE e.kind = $kind AND e.id > $after
RETURN e.id AS id, e.kind AS kind, e.attrs AS attrs, e.created_at AS created_at, e.updated_at AS updated_at
ORDER BY id
LIMIT $limit
