// name: card_field_samples
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one (field, rules) group of the indicator Values the technique's rules check (CHECKS,
//      negated edges left out): the field, the number of DISTINCT rules of the technique
//      checking each Value of the group, and the group's Values as [key, value] pairs
//      (unordered). The caller takes a field's samples from its groups, most rules first,
//      then by key. Values of the exists operator hold no value and are left out.
// One row per group rather than per Value: T1059.001 has some 4,300 Values but 160 groups,
// and the Neo4j driver spends far more per record than per list item.
MATCH (r:Rule)-[c:CHECKS]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
  AND NOT c.negated
  AND v.op <> 'exists'
WITH v, count(DISTINCT r) AS rules
RETURN v.field AS field, rules, collect([v.key, v.value]) AS values
