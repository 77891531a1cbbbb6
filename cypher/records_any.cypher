// Whether the store holds any record (stubs included: a key a load would have to merge with).
// Neo4jStore.bulk_load writes a load into a store without one with no records_state read.
// No parameters.
RETURN EXISTS { MATCH (:Record) } AS any
