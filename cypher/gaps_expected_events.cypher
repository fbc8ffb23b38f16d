// name: gaps_expected_events
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool),
//         $limit (int)
//   $technique: a technique id; '' for every technique
//   $include_subtechniques: with $technique, also its sub-techniques
//   $include_deprecated: also take revoked/deprecated techniques and deprecated rules
//   $limit: how many rows, techniques with most rules first
// row: one (technique, event) pair where ATT&CK's analytics expect the event for the technique
//      (EXPECTS) but no rule detecting the technique reads it (ON_EVENT): technique id and
//      name, the event's key, provider, event_id, title, how the expectation was derived (via),
//      and the technique's DISTINCT rules (0: the technique is not covered at all).
// Starts from the technique: the events its rules read are gathered once per technique,
// instead of an EXISTS over the rules for every expected (technique, event) pair.
MATCH (t:Technique)
WHERE ($technique = '' OR t.id = $technique
       OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
  AND EXISTS { MATCH (t)-[:EXPECTS]->(:Event) }
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t)
WHERE $include_deprecated OR NOT r.deprecated
WITH t, count(DISTINCT r) AS technique_rules
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t), (r)-[:ON_EVENT]->(re:Event)
WHERE $include_deprecated OR NOT r.deprecated
WITH t, technique_rules, collect(DISTINCT re.key) AS read
MATCH (t)-[x:EXPECTS]->(e:Event)
WHERE NOT e.key IN read
WITH t, technique_rules, e, collect(DISTINCT x.via) AS via
RETURN t.id AS technique, t.name AS name, e.key AS event, e.provider AS provider,
       e.event_id AS event_id, e.title AS title, via, technique_rules
ORDER BY technique_rules DESC, technique, event
LIMIT $limit
