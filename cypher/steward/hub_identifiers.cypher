// Steward query: the most shared identifiers (candidate hubs: kiosk devices, support@
// mailboxes, resellers' payment entities). Resolution ignores an identifier above its
// kind's max_degree or matching a deny pattern (see graphstore/defaults/rules.yaml).
// An identifier's degree is its number of HAS links (not stored; a getDegree lookup per
// identifier, over all of them).
// :param minDegree => 10
MATCH (i:Identifier)
WITH i, COUNT { (i)<-[:HAS]-() } AS records
WHERE records >= $minDegree
RETURN i.kind AS kind, i.value AS value, records
ORDER BY records DESC, kind, value
LIMIT 100
