// name: card_exclusions
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool),
//         $limit (int)
//   as in card_indicators
// row: one excluded Value (a value in a top-level NOT clause: a known false positive) of the
//      technique's rules, with the number of DISTINCT rules of the technique excluding it, their
//      vendors, its corpus reach (DISTINCT rules of any technique excluding it) and
//      specific = (reach == rules).
MATCH (r:Rule)-[:EXCLUDES]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
// grouped by the key, and the top Values looked up by it afterwards: the embedded engine
// reads every property a query names on each matched row, long before the LIMIT
WITH v.key AS key, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors
ORDER BY rules DESC, key
LIMIT $limit
MATCH (w:Value {key: key})
// the reach is counted once at build time (kg.derive) rather than on every card
WITH w, rules, vendors,
     CASE WHEN $include_deprecated THEN w.exclusion_reach ELSE w.exclusion_reach_active END AS corpus_reach
RETURN w.key AS key, w.field AS field, w.op AS op, w.value AS value, w.value_key AS value_key,
       rules, vendors, corpus_reach, corpus_reach = rules AS specific
ORDER BY rules DESC, key
