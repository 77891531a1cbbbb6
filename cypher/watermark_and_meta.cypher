// Neo4jStore.watermark_and_meta: the load watermark (the $name counter, 0 before any write)
// and the values of the Meta keys $keys ([key, value or null] each), in one round trip: what
// a resolution run reads first.
OPTIONAL MATCH (c:Counter {name: $name})
CALL () {
  UNWIND $keys AS k
  OPTIONAL MATCH (m:Meta {key: k})
  RETURN collect([k, m.value]) AS metas
}
RETURN coalesce(c.value, 0) AS value, metas
