// name: card_rules
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one rule detecting the technique (or, when asked, one of its sub-techniques), with its
//      author and link (the rule licences ask for credit) and the ids it detects in scope.
MATCH (r:Rule)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
// grouped by the uid, and the rules looked up by it afterwards: the embedded engine reads
// every property a query names on each matched row, before the grouping
WITH r.uid AS uid, collect(DISTINCT t.id) AS techniques
MATCH (x:Rule {uid: uid})
RETURN x.vendor AS vendor, uid, x.id AS id, x.title AS title, x.status AS status,
       x.level AS level, x.url AS url, x.deprecated AS deprecated, x.author AS author,
       x.parse_status AS parse_status, techniques
ORDER BY vendor, id
