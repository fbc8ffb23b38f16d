// name: card_rules
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one rule detecting the technique (or, when asked, one of its sub-techniques), with its
//      author and link (the rule licences ask for credit) and the ids it detects in scope.
MATCH (r:Rule)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH r, collect(DISTINCT t.id) AS techniques
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author,
       r.parse_status AS parse_status, techniques
ORDER BY vendor, id
