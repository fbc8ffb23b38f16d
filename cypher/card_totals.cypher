// name: card_totals
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one row of DISTINCT counts over the technique's rules: rules (deprecated_rules of them
//      deprecated), catalogue events read, fields filtered, indicator Values checked (negated
//      edges left out) and excluded Values. Zeros when no rule detects the technique.
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH count(DISTINCT r) AS rules,
     count(DISTINCT CASE WHEN r.deprecated THEN r.uid END) AS deprecated_rules
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[:ON_EVENT]->(e:Event)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH rules, deprecated_rules, count(DISTINCT e) AS events
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[:FILTERS]->(f:Field)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH rules, deprecated_rules, events, count(DISTINCT f) AS fields
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[c:CHECKS]->(v:Value)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
  AND NOT c.negated
WITH rules, deprecated_rules, events, fields, count(DISTINCT v) AS indicators
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[:EXCLUDES]->(x:Value)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
RETURN rules, deprecated_rules, events, fields, indicators, count(DISTINCT x) AS exclusions
