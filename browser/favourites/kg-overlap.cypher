// kg: rule overlap of a technique
// Set the parameters first: run the favourite kg-overlap-params.
// name: viz_overlap_graph
// params: technique (ATT&CK id, e.g. T1059.006), limit (how many shared values to keep)
// row: rule, detects, technique, checks, value: one rule with its DETECTS and CHECKS edges,
//   for Neo4j Browser to draw. First the technique's rules and the values two or more of them
//   check (the $limit values most of its rules share); then, for the $limit strongest pairs of
//   a kept value and another technique it also serves, the rule with the smallest uid that
//   joins them.
MATCH (t:Technique {id: $technique})<-[:DETECTS]-(r:Rule)-[:CHECKS]->(v:Value)
WITH t, v, count(DISTINCT r) AS shared
WHERE shared >= 2
WITH t, v, shared
ORDER BY shared DESC, v.key
LIMIT $limit
MATCH (t)<-[d:DETECTS]-(r:Rule)-[c:CHECKS]->(v)
RETURN r AS rule, d AS detects, t AS technique, c AS checks, v AS value
UNION ALL
MATCH (t:Technique {id: $technique})<-[:DETECTS]-(r:Rule)-[:CHECKS]->(v:Value)
WITH t, v, count(DISTINCT r) AS shared
WHERE shared >= 2
WITH t, v, shared
ORDER BY shared DESC, v.key
LIMIT $limit
MATCH (v)<-[:CHECKS]-(o:Rule)-[:DETECTS]->(u:Technique)
WHERE u.id <> t.id
WITH v, u, count(DISTINCT o) AS via, min(o.uid) AS first_uid
ORDER BY via DESC, u.id
LIMIT $limit
MATCH (u)<-[d:DETECTS]-(o:Rule)-[c:CHECKS]->(v)
WHERE o.uid = first_uid
RETURN o AS rule, d AS detects, u AS technique, c AS checks, v AS value
