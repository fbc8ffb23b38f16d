// name: rules_behind_value
// params: $technique (string), $key (string), $include_subtechniques (bool),
//         $include_deprecated (bool)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events
//   $key: a Value key, "<field> <op> <value_key>" (the key column of card_indicators)
// row: one of the technique's rules checking that value (negated edges left out, as in
//      card_indicators): vendor, uid, id, title, status, level, url, deprecated, author, and
//      the native field names and operators it writes the check with.
MATCH (r:Rule)-[c:CHECKS]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE v.key = $key
  AND NOT c.negated
  AND (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH r, collect(DISTINCT c.native_field) AS natives, collect(DISTINCT c.native_op) AS native_ops
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author,
       natives, native_ops
ORDER BY vendor, id
