// Deletes entities with every MEMBER_OF / BELONGS_TO / CHILD_OF link touching them. Parameters: $ids.
UNWIND $ids AS id
MATCH (e:Entity {id: id})
DETACH DELETE e
