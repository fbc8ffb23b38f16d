// name: overlap_rule_pairs
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool),
//         $limit (int)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events
//   $limit: how many pairs to return, highest Jaccard first
// row: one pair of the technique's rules of different vendors (rule_a's vendor sorts first)
//      sharing at least one indicator Value (non-negated CHECKS): shared values, each rule's
//      number of indicator values, and the Jaccard index shared / (a + b - shared), rounded to
//      4 places. Pairs sharing nothing (Jaccard 0) are not listed.
MATCH (a:Rule)-[:DETECTS]->(ta:Technique)
WHERE (ta.id = $technique OR ($include_subtechniques AND ta.parent_id = $technique))
  AND ($include_deprecated OR NOT a.deprecated)
WITH DISTINCT a
MATCH (a)-[ca:CHECKS]->(v:Value)<-[cb:CHECKS]-(b:Rule)
WHERE a.vendor < b.vendor
  AND NOT ca.negated AND NOT cb.negated
  AND ($include_deprecated OR NOT b.deprecated)
  AND EXISTS {
    MATCH (b)-[:DETECTS]->(tb:Technique)
    WHERE tb.id = $technique OR ($include_subtechniques AND tb.parent_id = $technique)
  }
WITH a, b, count(DISTINCT v) AS shared
MATCH (a)-[c1:CHECKS]->(va:Value)
WHERE NOT c1.negated
WITH a, b, shared, count(DISTINCT va) AS indicators_a
MATCH (b)-[c2:CHECKS]->(vb:Value)
WHERE NOT c2.negated
WITH a, b, shared, indicators_a, count(DISTINCT vb) AS indicators_b
RETURN a.uid AS rule_a, a.vendor AS vendor_a, a.title AS title_a,
       b.uid AS rule_b, b.vendor AS vendor_b, b.title AS title_b,
       shared, indicators_a, indicators_b,
       round(1.0 * shared / (indicators_a + indicators_b - shared), 4) AS jaccard
ORDER BY jaccard DESC, shared DESC, rule_a, rule_b
LIMIT $limit
