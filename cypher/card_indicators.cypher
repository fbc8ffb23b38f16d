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
WITH v, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors
ORDER BY rules DESC, v.key
LIMIT $limit
// OPTIONAL MATCH from the bound value: the embedded engine then follows v's own edges
// instead of scanning every CHECKS edge of the corpus; each v has at least its own rules,
// so no row gets a null.
OPTIONAL MATCH (v)<-[oc:CHECKS]-(o:Rule)
WHERE NOT oc.negated AND ($include_deprecated OR NOT o.deprecated)
WITH v, rules, vendors, count(DISTINCT o) AS corpus_reach
RETURN v.key AS key, v.field AS field, v.op AS op, v.value AS value, v.value_key AS value_key,
       rules, vendors, corpus_reach, corpus_reach = rules AS specific
ORDER BY rules DESC, key
