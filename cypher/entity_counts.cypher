// Persons and accounts only: what every resolution run reports at its end (the full `counts`
// also counts edges, near misses included, which grows with the graph).
// Parameters: $person, $account (entity kinds).
CALL () { MATCH (n:Entity) WHERE n.kind = $person AND n.id IS NOT NULL RETURN count(n) AS persons }
CALL () { MATCH (n:Entity) WHERE n.kind = $account AND n.id IS NOT NULL RETURN count(n) AS accounts }
RETURN persons, accounts
