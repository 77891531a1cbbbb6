// Creates or updates entities by id: kind, attributes and updated_at are replaced, created_at is
// kept from the first write. Parameters: $rows (list of {id, kind, attrs (JSON), created_at, updated_at}).
UNWIND $rows AS row
MERGE (e:Entity {id: row.id})
ON CREATE SET e.created_at = row.created_at
SET e.kind = row.kind, e.attrs = row.attrs, e.updated_at = row.updated_at
