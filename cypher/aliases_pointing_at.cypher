// The aliases that point directly at the given ids (one level of aliases_of). Parameters: $ids.
UNWIND $ids AS id
MATCH (a:Alias {target: id})
RETURN id AS target, a.id AS alias
