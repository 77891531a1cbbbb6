// Records merged-away ids: alias id -> the id that absorbed it (which may itself be an alias
// or not live; resolution follows the chain). Parameters: $rows (list of [alias id, target id]).
UNWIND $rows AS row
MERGE (a:Alias {id: row[0]})
SET a.target = row[1]
