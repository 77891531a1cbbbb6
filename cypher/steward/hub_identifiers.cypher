// Steward query: the most shared identifiers (candidate hubs: kiosk devices, support@
// mailboxes, resellers' payment entities). Resolution ignores an identifier above its
// kind's max_degree or matching a deny pattern (see graphstore/defaults/rules.yaml).
// :param minDegree => 10
MATCH (i:Identifier)
WHERE i.degree >= $minDegree
RETURN i.kind AS kind, i.value AS value, i.degree AS records
ORDER BY records DESC, kind, value
LIMIT 100
