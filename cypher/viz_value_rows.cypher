// name: viz_value_rows
// params: field (canonical field), op, value (as kg keys it, or as first seen), limit (rules)
// row: one rule behind the indicator and one technique it detects: key, field, op, value,
//   reach (distinct rules in the corpus checking the value), rel (CHECKS or EXCLUDES), uid,
//   vendor, title, author, url, technique and name ("" when the rule tags none). The first
//   $limit rules by uid.
MATCH (v:Value)
WHERE v.field = $field AND v.op = $op AND (v.value_key = $value OR v.value = $value)
OPTIONAL MATCH (v)<-[:CHECKS]-(x:Rule)
WITH v, count(DISTINCT x) AS reach
MATCH (r:Rule)-[:CHECKS|EXCLUDES]->(v)
WITH DISTINCT v, reach, r
ORDER BY r.uid
LIMIT $limit
OPTIONAL MATCH (r)-[:DETECTS]->(t:Technique)
RETURN v.key AS key, v.field AS field, v.op AS op, v.value AS value, reach,
       CASE WHEN EXISTS { MATCH (r)-[:CHECKS]->(v) } THEN 'CHECKS' ELSE 'EXCLUDES' END AS rel,
       r.uid AS uid, r.vendor AS vendor, r.title AS title, r.author AS author, r.url AS url,
       coalesce(t.id, '') AS technique, coalesce(t.name, '') AS name
ORDER BY uid, technique
