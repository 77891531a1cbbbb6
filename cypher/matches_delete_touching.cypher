// Deletes every MATCHED edge with an end in the given records; returns how many went.
// Parameters: $keys (record keys).
UNWIND $keys AS k
MATCH (:Record {key: k})-[m:MATCHED]-()
WITH DISTINCT m
DELETE m
RETURN count(*) AS deleted
