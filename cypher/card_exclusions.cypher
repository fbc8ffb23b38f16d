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
WITH v, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors
ORDER BY rules DESC, v.key
LIMIT $limit
// OPTIONAL MATCH from the bound value: see card_indicators
OPTIONAL MATCH (v)<-[:EXCLUDES]-(o:Rule)
WHERE $include_deprecated OR NOT o.deprecated
WITH v, rules, vendors, count(DISTINCT o) AS corpus_reach
RETURN v.key AS key, v.field AS field, v.op AS op, v.value AS value, v.value_key AS value_key,
       rules, vendors, corpus_reach, corpus_reach = rules AS specific
ORDER BY rules DESC, key
