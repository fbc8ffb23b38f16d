// name: card_field_ops
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one (field, operator) pair from the FILTERS edges of the technique's rules, with the
//      number of DISTINCT rules applying that operator to that field.
MATCH (r:Rule)-[fe:FILTERS]->(f:Field), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
UNWIND fe.ops AS op
RETURN f.name AS field, op, count(DISTINCT r) AS rules
ORDER BY field, rules DESC, op
