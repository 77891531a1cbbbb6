// Node and edge counts for `entitystore status`. Plain label/type counts come from the count
// store (constant time); stub records (:Record:RecordStub, endpoints referenced before they were
// loaded) are subtracted. Parameters: $person, $account (entity kinds), $near_miss (decision).
CALL () { MATCH (n:Record) RETURN count(n) AS all_records }
CALL () { MATCH (n:RecordStub) RETURN count(n) AS stub_records }
CALL () { MATCH (n:Identifier) RETURN count(n) AS identifiers }
CALL () { MATCH (n:Entity) RETURN count(n) AS entities }
CALL () { MATCH (n:Entity) WHERE n.kind = $person AND n.id IS NOT NULL RETURN count(n) AS persons }
CALL () { MATCH (n:Entity) WHERE n.kind = $account AND n.id IS NOT NULL RETURN count(n) AS accounts }
CALL () { MATCH ()-[r:HAS]->() RETURN count(r) AS has }
CALL () { MATCH ()-[r:MATCHED]->() RETURN count(r) AS all_matched }
CALL () { MATCH ()-[r:MATCHED]->() WHERE r.decision = $near_miss RETURN count(r) AS near_misses }
CALL () { MATCH ()-[r:MEMBER_OF]->() RETURN count(r) AS member_of }
CALL () { MATCH ()-[r:BELONGS_TO]->() RETURN count(r) AS belongs_to }
CALL () { MATCH ()-[r:CHILD_OF]->() RETURN count(r) AS child_of }
CALL () { MATCH (n:Alias) RETURN count(n) AS aliases }
CALL () { MATCH (n:Event) RETURN count(n) AS events }
CALL () { MATCH (n:Override) RETURN count(n) AS overrides }
CALL () { MATCH (n:Quarantine) RETURN count(n) AS quarantined }
RETURN all_records - stub_records AS records, identifiers, entities, persons, accounts, has,
       all_matched - near_misses AS matched, near_misses, member_of, belongs_to, child_of,
       aliases, events, overrides, quarantined
