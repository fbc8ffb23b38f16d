// name: rules_behind_exclusion
// params: $technique (string), $key (string), $include_subtechniques (bool),
//         $include_deprecated (bool)
//   as in rules_behind_value; $key is the key column of card_exclusions
// row: one of the technique's rules excluding that value in a top-level NOT: vendor, uid, id,
//      title, status, level, url, deprecated, author, native names and operators.
MATCH (r:Rule)-[c:EXCLUDES]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE v.key = $key
  AND (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH r, collect(DISTINCT c.native_field) AS natives, collect(DISTINCT c.native_op) AS native_ops
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author,
       natives, native_ops
ORDER BY vendor, id
