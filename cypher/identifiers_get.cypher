// Identifier nodes by key with their degree. Parameters: $keys (list of identifier keys).
// Degree (distinct records carrying the identifier) is not stored: it is the number of HAS
// links, since a record links each distinct identifier once (Neo4jStore._upsert_tx), and
// Neo4j counts a node's relationships itself. The planner turns COUNT { (i)<-[:HAS]-() }
// into a degree lookup (EXPLAIN on 2026.08.1: Projection `getDegree((i)<-[:HAS]-())`, no
// Expand): it reads the node's relationship chain (at most 50 links) for a sparse node,
// and the per-type, per-direction counts of its relationship group for a dense one (more
// than db.relationship_grouping_threshold = 50 links, aligned and standard formats). APOC's
// docs point degree lookups at this COUNT subquery
// (https://neo4j.com/docs/apoc/current/overview/apoc.node/apoc.node.degree). Storing it
// instead cost a load ~24 us of server CPU per record (bench/RESULTS.md, night of 2026-11-25).
// Measured (100k records, identifiers_of_records over all): the typed count costs ~3.5 us of
// server CPU per record more than reading a property; COUNT { (i)--() } costs no more than the
// property (a sparse chain keeps its length) but would silently count any other relationship
// type ever attached to identifiers, so the reads name HAS.
UNWIND $keys AS k
MATCH (i:Identifier {key: k})
RETURN i.key AS key, i.kind AS kind, i.value AS value, COUNT { (i)<-[:HAS]-() } AS degree
