// name: card_field_samples
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one indicator Value the technique's rules check (CHECKS, negated edges left out), with
//      its field and the number of DISTINCT rules checking it; rows come grouped by field,
//      most used first, so the first few rows of a field are its sample values. Values of
//      the exists operator hold no value and are left out.
MATCH (r:Rule)-[c:CHECKS]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
  AND NOT c.negated
  AND v.op <> 'exists'
RETURN v.field AS field, v.op AS op, v.value AS value, v.key AS key, count(DISTINCT r) AS rules
ORDER BY field, rules DESC, key
