// Neo4jStore.run_start: what a resolution run reads first, in one round trip: the load
// watermark (the $name counter, 0 before any write), the Meta value under $rules_key, and,
// when $rule_version is given and equals it, the keys of records written after the watermark
// stored under $watermark_key (all records when none is), sorted (listed tells which).
OPTIONAL MATCH (c:Counter {name: $name})
OPTIONAL MATCH (rv:Meta {key: $rules_key})
OPTIONAL MATCH (wm:Meta {key: $watermark_key})
WITH coalesce(c.value, 0) AS mark, rv.value AS stored, coalesce(toInteger(wm.value), -1) AS since,
     $rule_version IS NOT NULL AND rv.value = $rule_version AS listed
CALL (since, listed) {
  MATCH (r:Record)
  WHERE r.load_seq > CASE WHEN listed THEN since ELSE 9223372036854775807 END  // an empty range seek
  WITH r.key AS key
  ORDER BY key
  RETURN collect(key) AS changed
}
RETURN mark, stored, listed, changed
