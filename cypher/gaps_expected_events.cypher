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
MATCH (t:Technique)-[x:EXPECTS]->(e:Event)
WHERE ($technique = '' OR t.id = $technique
       OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
  AND NOT EXISTS {
    MATCH (r:Rule)-[:DETECTS]->(t), (r)-[:ON_EVENT]->(e)
    WHERE $include_deprecated OR NOT r.deprecated
  }
WITH t, e, collect(DISTINCT x.via) AS via
OPTIONAL MATCH (r2:Rule)-[:DETECTS]->(t)
WHERE $include_deprecated OR NOT r2.deprecated
WITH t, e, via, count(DISTINCT r2) AS technique_rules
RETURN t.id AS technique, t.name AS name, e.key AS event, e.provider AS provider,
       e.event_id AS event_id, e.title AS title, via, technique_rules
ORDER BY technique_rules DESC, technique, event
LIMIT $limit
