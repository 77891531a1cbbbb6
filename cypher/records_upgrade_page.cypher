// One page of records in key order for the schema-1 -> 2 upgrade: a record still in the
// schema-1 layout (no body, not a stub) comes with its properties and its HAS links with the
// source field on each; any other record comes as its key only (record null), so the next
// page starts after it. Parameters: $after (last key of the previous page, '' first), $limit.
MATCH (r:Record)
WHERE r.key > $after
WITH r
ORDER BY r.key
LIMIT $limit
RETURN r.key AS key,
       CASE WHEN r.body IS NULL AND NOT r:RecordStub THEN r {.*} END AS record,
       CASE WHEN r.body IS NULL AND NOT r:RecordStub
            THEN [(r)-[h:HAS]->(i:Identifier) | [i.kind, i.value, h.field]] END AS identifiers
