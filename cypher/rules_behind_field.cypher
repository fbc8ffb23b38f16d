// name: rules_behind_field
// params: $technique (string), $field (string), $op (string), $include_subtechniques (bool),
//         $include_deprecated (bool)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events
//   $field: a canonical field name (the field column of card_fields)
//   $op: only rules applying this operator to the field (card_field_ops); '' for any
// row: one of the technique's rules filtering that field: vendor, uid, id, title, status, level,
//      url, deprecated, author, the native names it uses for the field and the operators.
MATCH (t:Technique)<-[:DETECTS]-(r:Rule)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
// the rule set first, then its FILTERS edges: with both patterns in one MATCH the embedded
// engine (LadybugDB 0.22) let rules through whose edge lacks $op
WITH DISTINCT r
MATCH (r)-[fe:FILTERS]->(f:Field)
WHERE f.name = $field AND ($op = '' OR $op IN fe.ops)
WITH r, collect(DISTINCT fe.native_field) AS natives
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author, natives
ORDER BY vendor, id
