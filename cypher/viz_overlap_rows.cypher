// name: viz_overlap_rows
// params: technique (ATT&CK id), limit (how many shared values to keep, strongest first)
// row: one value two or more of the technique's rules check, and one of those rules:
//   key, field, op, value, shared (distinct technique rules checking it), reach (distinct
//   rules in the whole corpus checking it), uid, vendor, title, author, url of the rule.
MATCH (t:Technique {id: $technique})<-[:DETECTS]-(r:Rule)-[:CHECKS]->(v:Value)
WITH t, v, count(DISTINCT r) AS shared
WHERE shared >= 2
WITH t, v, shared
ORDER BY shared DESC, v.key
LIMIT $limit
MATCH (v)<-[:CHECKS]-(x:Rule)
WITH t, v, shared, count(DISTINCT x) AS reach
MATCH (t)<-[:DETECTS]-(r:Rule)-[:CHECKS]->(v)
RETURN DISTINCT v.key AS key, v.field AS field, v.op AS op, v.value AS value, shared, reach,
       r.uid AS uid, r.vendor AS vendor, r.title AS title, r.author AS author, r.url AS url
ORDER BY shared DESC, key, uid
