// Identifiers carried by at least $min_degree records, most shared first. Degree is not stored
// (see identifiers_get.cypher), so there is no index to seek: this scans every identifier
// (NodeByLabelScan) and looks its degree up (getDegree, no Expand). O(identifiers); a steward
// report, not a resolution path: at 1M records (1.45M identifiers) 2.0-2.3 s for min_degree 7
// (43,300 rows), 1.0 s when few qualify; the hub report around it takes 37 s (it reads every
// record for deny patterns). Parameters: $min_degree, $limit.
MATCH (i:Identifier)
WITH i, COUNT { (i)<-[:HAS]-() } AS degree
WHERE degree >= $min_degree
RETURN i.kind AS kind, i.value AS value, degree
ORDER BY degree DESC, i.key
LIMIT $limit
