// One page of loaded records in key order (keyset pagination on the key index), with their
// identifier links. Parameters: $after (last key of the previous page, '' first), $limit.
MATCH (r:Record)
WHERE r.key > $after AND NOT r:RecordStub
WITH r
ORDER BY r.key
LIMIT $limit
RETURN r {.*} AS record, [(r)-[h:HAS]->(i:Identifier) | [i.kind, i.value, h.field]] AS identifiers
