// One page of one source's records in key order (the (source, key) index gives the order).
// Parameters: $source, $after (last key of the previous page, '' first), $limit.
MATCH (r:Record)
WHERE r.source = $source AND r.key > $after
WITH r
ORDER BY r.key
LIMIT $limit
RETURN r {.*} AS record, [(r)-[h:HAS]->(i:Identifier) | [i.kind, i.value, h.field]] AS identifiers
