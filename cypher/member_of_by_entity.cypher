// Entity id -> its member record keys. Parameters: $keys (entity ids).
// One row: pairs [asked key, found] (a row per pair costs the client more than a list).
UNWIND $keys AS k
MATCH (:Entity {id: k})<-[:MEMBER_OF]-(r:Record)
RETURN collect([k, r.key]) AS pairs
