// name: rules_behind_event
// params: $technique (string), $event (string), $include_subtechniques (bool),
//         $include_deprecated (bool)
//   $technique, $include_subtechniques, $include_deprecated: the technique's rules, as in
//     card_events
//   $event: an Event key, "<provider>:<event_id>" (the key column of card_events)
// row: one of the technique's rules reading that event: vendor, uid, id, title, status, level,
//      url, deprecated, author, and how the event was inferred (via, a list).
MATCH (r:Rule)-[o:ON_EVENT]->(e:Event), (r)-[:DETECTS]->(t:Technique)
WHERE e.key = $event
  AND (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH r, collect(DISTINCT o.via) AS via
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author, via
ORDER BY vendor, id
