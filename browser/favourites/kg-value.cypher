// kg: rules behind an indicator
// Set the parameters first: run the favourite kg-value-params.
// name: viz_value_graph
// params: field (canonical field, e.g. process.name), op (eq, wildcard, regex_match, ...),
//   value (the value as kg keys it, case-folded, or as first seen), limit (how many rules)
// row: value, link, rule, detects, technique: one rule that checks or excludes the indicator
//   (link is the CHECKS or EXCLUDES edge) and one technique it detects (null when it tags
//   none), for Neo4j Browser to draw; the first $limit rules by uid.
MATCH (v:Value)
WHERE v.field = $field AND v.op = $op AND (v.value_key = $value OR v.value = $value)
MATCH (r:Rule)-[:CHECKS|EXCLUDES]->(v)
WITH DISTINCT v, r
ORDER BY r.uid
LIMIT $limit
MATCH (r)-[link:CHECKS|EXCLUDES]->(v)
OPTIONAL MATCH (r)-[d:DETECTS]->(t:Technique)
RETURN v AS value, link, r AS rule, d AS detects, t AS technique
