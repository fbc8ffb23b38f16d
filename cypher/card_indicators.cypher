// name: card_indicators
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool),
//         $limit (int)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events; $include_deprecated also decides whether deprecated rules count in the reach
//   $limit: how many indicators to return, ranked by rules then key
// row: one indicator Value (field, op, value) the technique's rules check, with the number of
//      DISTINCT rules of the technique checking it, their vendors, its corpus reach (DISTINCT
//      rules of any technique and vendor that check it) and specific = (reach == rules).
//      Negated CHECKS edges (a test under a nested NOT) are left out on both sides: a rule
//      that says "not this value" does not use the value as an indicator.
MATCH (r:Rule)-[c:CHECKS]->(v:Value), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
  AND NOT c.negated
// grouped by the key, and the top Values looked up by it afterwards: the embedded engine
// reads every property a query names on each matched row, long before the LIMIT
WITH v.key AS key, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors
ORDER BY rules DESC, key
LIMIT $limit
MATCH (w:Value {key: key})
// the reach is counted once at build time (kg.derive) rather than on every card
WITH w, rules, vendors,
     CASE WHEN $include_deprecated THEN w.reach ELSE w.reach_active END AS corpus_reach
RETURN w.key AS key, w.field AS field, w.op AS op, w.value AS value, w.value_key AS value_key,
       rules, vendors, corpus_reach, corpus_reach = rules AS specific
ORDER BY rules DESC, key
