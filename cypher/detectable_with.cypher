// name: detectable_with
// params: $events (list of string), $domain (string), $include_deprecated (bool)
//   $events: Event keys "<provider>:<event_id>" the user collects
//   $domain: the ATT&CK domain, e.g. enterprise-attack; '' for all
//   $include_deprecated: also take deprecated rules and revoked/deprecated techniques
// row: one technique with at least one rule that reads at least one event and reads only
//      events from $events: id, name, how many such rules, their vendors and uids, and the
//      events of the list they read.
MATCH (r:Rule)
WHERE ($include_deprecated OR NOT r.deprecated)
  AND EXISTS { MATCH (r)-[:ON_EVENT]->(:Event) }
  AND NOT EXISTS { MATCH (r)-[:ON_EVENT]->(o:Event) WHERE NOT o.key IN $events }
MATCH (r)-[:DETECTS]->(t:Technique), (r)-[:ON_EVENT]->(e:Event)
WHERE ($domain = '' OR t.domain = $domain)
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
WITH t, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors,
     collect(DISTINCT r.uid) AS rule_uids, collect(DISTINCT e.key) AS events
RETURN t.id AS id, t.name AS name, rules, vendors, rule_uids, events
ORDER BY rules DESC, id
