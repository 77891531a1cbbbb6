// Persons and accounts only: what every resolution run reports at its end (the full `counts`
// also counts edges, near misses included, which grows with the graph).
// Persons are all entities (the label's count, kept by the store: no scan) less those of a
// kind sorting before or after $person (range seeks on the kind index): the cost follows
// the number of accounts, not of persons, the many. Parameters: $person, $account.
CALL () { MATCH (n:Entity) RETURN count(n) AS entities }
CALL () { MATCH (n:Entity) WHERE n.kind < $person AND n.id IS NOT NULL RETURN count(n) AS before }
CALL () { MATCH (n:Entity) WHERE n.kind > $person AND n.id IS NOT NULL RETURN count(n) AS after }
CALL () { MATCH (n:Entity) WHERE n.kind = $account AND n.id IS NOT NULL RETURN count(n) AS accounts }
RETURN entities - before - after AS persons, accounts
