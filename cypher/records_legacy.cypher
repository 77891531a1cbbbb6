// The key of one record stored in the layout before schema version 2 (attrs, norm and the
// other values as separate properties, no body), if any; stubs have neither. No parameters.
MATCH (r:Record)
WHERE r.body IS NULL AND NOT r:RecordStub
RETURN r.key AS key
LIMIT 1
