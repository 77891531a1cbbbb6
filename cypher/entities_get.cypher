// Entities by their current id (aliases are not followed). Parameters: $ids.
UNWIND $ids AS id
MATCH (e:Entity {id: id})
RETURN e.id AS id, e.kind AS kind, e.attrs AS attrs, e.created_at AS created_at, e.updated_at AS updated_at
