// The cheapest round trip that proves the database answers (readiness probe). No parameters.
RETURN 1 AS ok
