// name: viz_rule_rows
// params: rule (a rule's uid such as sigma:<id>, or its vendor id), limit (how many other rules)
// row: one node of the rule's neighbourhood and how it joins the rule: rel (RULE for the rule
//   itself, CHECKS, EXCLUDES, DETECTS, ON_EVENT, or PEER for another rule checking one of the
//   same values), label, key, name (rule title, value as first seen, technique or event name),
//   field and op (values only), vendor, author (rules only), url (rules and techniques), reach
//   (values: distinct rules in the corpus checking it), via (PEER rows: the key of the shared
//   value; one row per shared value). PEER rows cover the $limit rules sharing most values.
MATCH (r:Rule)
WHERE r.uid = $rule OR r.id = $rule
RETURN 'RULE' AS rel, 'Rule' AS label, r.uid AS key, r.title AS name,
       '' AS field, '' AS op, r.vendor AS vendor, r.author AS author, r.url AS url,
       0 AS reach, '' AS via
UNION ALL
MATCH (r:Rule)-[:CHECKS]->(v:Value)
WHERE r.uid = $rule OR r.id = $rule
MATCH (v)<-[:CHECKS]-(x:Rule)
RETURN 'CHECKS' AS rel, 'Value' AS label, v.key AS key, v.value AS name,
       v.field AS field, v.op AS op, '' AS vendor, '' AS author, '' AS url,
       count(DISTINCT x) AS reach, '' AS via
UNION ALL
MATCH (r:Rule)-[:EXCLUDES]->(v:Value)
WHERE r.uid = $rule OR r.id = $rule
OPTIONAL MATCH (v)<-[:CHECKS]-(x:Rule)
RETURN 'EXCLUDES' AS rel, 'Value' AS label, v.key AS key, v.value AS name,
       v.field AS field, v.op AS op, '' AS vendor, '' AS author, '' AS url,
       count(DISTINCT x) AS reach, '' AS via
UNION ALL
MATCH (r:Rule)-[:DETECTS]->(t:Technique)
WHERE r.uid = $rule OR r.id = $rule
RETURN 'DETECTS' AS rel, 'Technique' AS label, t.id AS key, t.name AS name,
       '' AS field, '' AS op, '' AS vendor, '' AS author, t.url AS url, 0 AS reach, '' AS via
UNION ALL
MATCH (r:Rule)-[:ON_EVENT]->(e:Event)
WHERE r.uid = $rule OR r.id = $rule
RETURN 'ON_EVENT' AS rel, 'Event' AS label, e.key AS key, e.title AS name,
       '' AS field, '' AS op, '' AS vendor, '' AS author, '' AS url, 0 AS reach, '' AS via
UNION ALL
MATCH (r:Rule)-[:CHECKS]->(:Value)<-[:CHECKS]-(o:Rule)
WHERE (r.uid = $rule OR r.id = $rule) AND o.uid <> r.uid
WITH r, o, count(*) AS common
ORDER BY common DESC, o.uid
LIMIT $limit
MATCH (r)-[:CHECKS]->(v:Value)<-[:CHECKS]-(o)
RETURN 'PEER' AS rel, 'Rule' AS label, o.uid AS key, o.title AS name,
       '' AS field, '' AS op, o.vendor AS vendor, o.author AS author, o.url AS url,
       0 AS reach, v.key AS via
