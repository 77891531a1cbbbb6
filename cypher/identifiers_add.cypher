// Creates missing identifier nodes and raises degrees, once per distinct identifier of a batch
// (degree = number of distinct records carrying it), before the HAS links are created.
// Rows are lists (cheaper for the driver to pack than maps); value is the key minus "kind:".
// Parameters: $rows (list of [key, kind, n]: n = records of the batch that carry it).
UNWIND $rows AS row
MERGE (i:Identifier {key: row[0]})
ON CREATE SET i.kind = row[1], i.value = substring(row[0], size(row[1]) + 1), i.degree = row[2]
ON MATCH SET i.degree = i.degree + row[2]
