// Removes aliases (an id handed back to a live entity by a split). Parameters: $ids (alias ids).
UNWIND $ids AS id
MATCH (a:Alias {id: id})
DELETE a
