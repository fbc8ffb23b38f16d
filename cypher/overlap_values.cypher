// name: overlap_values
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool),
//         $limit (int)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events
//   $limit: how many values to return, most vendors first, then most rules, then key
// row: one indicator Value that rules of two or more vendors of the technique check
//      (non-negated): key, field, op, value, the vendors, how many, and DISTINCT rules.
MATCH (r:Rule)-[c:CHECKS]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
  AND NOT c.negated
WITH v, count(DISTINCT r) AS rules, count(DISTINCT r.vendor) AS vendor_count,
     collect(DISTINCT r.vendor) AS vendors
WHERE vendor_count >= 2
RETURN v.key AS key, v.field AS field, v.op AS op, v.value AS value, vendors, vendor_count,
       rules
ORDER BY vendor_count DESC, rules DESC, key
LIMIT $limit
