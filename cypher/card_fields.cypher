// name: card_fields
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool),
//         $limit (int)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events
//   $limit: how many fields to return, the most filtered first
// row: one canonical field the technique's rules filter (FILTERS, any role), the number of
//      DISTINCT rules filtering it, the vendor-native names that collapse into it as
//      "vendor:native" strings, and the roles it plays (filter, group_by).
MATCH (r:Rule)-[fe:FILTERS]->(f:Field), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
// grouped by the name, and the top Fields looked up by it afterwards: the embedded engine
// reads every property a query names on each matched row, long before the LIMIT
WITH f.name AS field, count(DISTINCT r) AS rules,
     collect(DISTINCT r.vendor + ':' + fe.native_field) AS natives,
     collect(DISTINCT fe.role) AS roles
ORDER BY rules DESC, field
LIMIT $limit
MATCH (g:Field {name: field})
RETURN field, g.mapped AS mapped, rules, natives, roles
ORDER BY rules DESC, field
