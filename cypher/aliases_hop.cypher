// One step of alias resolution: for each id, whether it is a live entity and where its alias
// (if any) points. Parameters: $ids.
UNWIND $ids AS id
OPTIONAL MATCH (e:Entity {id: id})
OPTIONAL MATCH (a:Alias {id: id})
RETURN id, e IS NOT NULL AS live, a.target AS target
