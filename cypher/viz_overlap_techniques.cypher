// name: viz_overlap_techniques
// params: technique (ATT&CK id), limit (how many shared values to keep, as viz_overlap_rows)
// row: one of the technique's shared values and another technique it also serves: key (the
//   Value), technique, name, rules (distinct rules checking the value and detecting that
//   technique). Strongest pairs first.
MATCH (t:Technique {id: $technique})<-[:DETECTS]-(r:Rule)-[:CHECKS]->(v:Value)
WITH t, v, count(DISTINCT r) AS shared
WHERE shared >= 2
WITH t, v, shared
ORDER BY shared DESC, v.key
LIMIT $limit
MATCH (v)<-[:CHECKS]-(o:Rule)-[:DETECTS]->(u:Technique)
WHERE u.id <> t.id
RETURN v.key AS key, u.id AS technique, u.name AS name, count(DISTINCT o) AS rules
ORDER BY rules DESC, key, technique
