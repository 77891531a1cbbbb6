// Entities ordered by id, strictly after $after (cursor pagination on the id index).
// Parameters: $after ('' for the first page), $limit.
MATCH (e:Entity)
WHERE e.id > $after
RETURN e.id AS id, e.kind AS kind, e.attrs AS attrs, e.created_at AS created_at, e.updated_at AS updated_at
ORDER BY id
LIMIT $limit
