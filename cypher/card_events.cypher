// name: card_events
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   $technique: technique id; its rules are those that DETECT it
//   $include_subtechniques: also take the rules of its sub-techniques (T1059 -> T1059.*)
//   $include_deprecated: also take deprecated rules
// row: one catalogue event the technique's rules read, with how many DISTINCT rules read it,
//      the vendors of those rules, how the event was inferred (via), and whether ATT&CK's
//      analytics expect that event for the technique (EXPECTS).
MATCH (r:Rule)-[o:ON_EVENT]->(e:Event), (r)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH e, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors,
     collect(DISTINCT o.via) AS via
RETURN e.key AS key, e.provider AS provider, e.event_id AS event_id, e.title AS title,
       e.platform AS platform, rules, vendors, via,
       EXISTS {
         MATCH (x:Technique)-[:EXPECTS]->(e)
         WHERE x.id = $technique OR ($include_subtechniques AND x.parent_id = $technique)
       } AS expected
ORDER BY rules DESC, key
