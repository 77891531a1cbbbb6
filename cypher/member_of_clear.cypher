// Removes the MEMBER_OF link of each given record (before it is set anew or dropped).
// Parameters: $keys (record keys).
UNWIND $keys AS k
MATCH (:Record {key: k})-[l:MEMBER_OF]->(:Entity)
DELETE l
