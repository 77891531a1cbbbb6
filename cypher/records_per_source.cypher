// Number of loaded records per source. No parameters.
MATCH (r:Record)
WHERE r.source IS NOT NULL
RETURN r.source AS source, count(r) AS records
ORDER BY source
