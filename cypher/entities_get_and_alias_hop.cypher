// Neo4jStore.entities_and_resolved: entities_get for $ids and aliases_hop for $hop_ids in one
// round trip (what id assignment reads). entities: the entities' fields as entities_get
// returns them; hops: {id, live, target} per hop id, as aliases_hop returns them.
CALL () {
  UNWIND $ids AS id
  MATCH (e:Entity {id: id})
  RETURN collect(e {.id, .kind, .attrs, .created_at, .updated_at}) AS entities
}
CALL () {
  UNWIND $hop_ids AS id
  OPTIONAL MATCH (e:Entity {id: id})
  OPTIONAL MATCH (a:Alias {id: id})
  RETURN collect({id: id, live: e IS NOT NULL, target: a.target}) AS hops
}
RETURN entities, hops
