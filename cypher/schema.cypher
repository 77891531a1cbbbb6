// Creates the constraints and indexes the Neo4j store relies on; idempotent (IF NOT EXISTS),
// run on every open. The only multi-statement file: statements end with ';'. No parameters.
// Uniqueness constraints also give each key a range index (lookups and ordered paging).
CREATE CONSTRAINT record_key IF NOT EXISTS FOR (n:Record) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT identifier_key IF NOT EXISTS FOR (n:Identifier) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT alias_id IF NOT EXISTS FOR (n:Alias) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT block_key IF NOT EXISTS FOR (n:Block) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT event_seq IF NOT EXISTS FOR (n:Event) REQUIRE n.seq IS UNIQUE;
CREATE CONSTRAINT override_id IF NOT EXISTS FOR (n:Override) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT quarantine_id IF NOT EXISTS FOR (n:Quarantine) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT run_id IF NOT EXISTS FOR (n:Run) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (n:Meta) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT api_key_id IF NOT EXISTS FOR (n:ApiKey) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT api_key_hash IF NOT EXISTS FOR (n:ApiKey) REQUIRE n.key_hash IS UNIQUE;
CREATE CONSTRAINT counter_name IF NOT EXISTS FOR (n:Counter) REQUIRE n.name IS UNIQUE;
CREATE INDEX record_source_id IF NOT EXISTS FOR (n:Record) ON (n.source_id);
CREATE INDEX record_full_name IF NOT EXISTS FOR (n:Record) ON (n.full_name);
CREATE INDEX record_load_seq IF NOT EXISTS FOR (n:Record) ON (n.load_seq);
// Record indexes are only those a query seeks on (each costs every record write): key (above),
// source_id, full_name, load_seq. A source's page is a key range ("source:..."); no query
// filters on the load time. Stores made before schema version 2 had two more; they go.
DROP INDEX record_source_key IF EXISTS;
DROP INDEX record_loaded_at IF EXISTS;
// Identifier degree is not stored (schema version 3: reads count HAS links). Stores made before
// kept it on the node, indexed: the index goes here, the property in Neo4jStore._upgrade_from_2.
DROP INDEX identifier_degree IF EXISTS;
CREATE INDEX entity_kind_id IF NOT EXISTS FOR (n:Entity) ON (n.kind, n.id);
CREATE INDEX alias_target IF NOT EXISTS FOR (n:Alias) ON (n.target);
CREATE INDEX event_entity IF NOT EXISTS FOR (n:Event) ON (n.entity_id);
CREATE INDEX event_at IF NOT EXISTS FOR (n:Event) ON (n.at);
CREATE INDEX quarantine_source IF NOT EXISTS FOR (n:Quarantine) ON (n.source);
CREATE INDEX run_started_at IF NOT EXISTS FOR (n:Run) ON (n.started_at);
CREATE INDEX matched_decision IF NOT EXISTS FOR ()-[m:MATCHED]-() ON (m.decision);
CALL db.awaitIndexes(300);
