// Auditor query: the latest merges and splits with the run, rule version and cause.
// :param since => '2026-01-01T00:00:00+00:00'
MATCH (ev:Event)
WHERE ev.type IN ['merged', 'merged_into', 'split', 'cut', 'override_added', 'override_removed']
  AND ev.at >= $since
RETURN ev.seq AS seq, ev.at AS at, ev.entity_id AS entity, ev.type AS type, ev.run_id AS run,
       ev.rule_version AS rule_version, ev.cause AS cause, ev.actor AS actor, ev.details AS details
ORDER BY ev.seq DESC
LIMIT 200
