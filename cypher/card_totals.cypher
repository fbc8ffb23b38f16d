// name: card_totals
// params: $technique (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in card_events
// row: one row of DISTINCT counts over the technique's rules: fields filtered, indicator
//      Values checked (negated edges left out) and excluded Values. Zeros when no rule
//      detects the technique. The rule and event totals come from card_rules and
//      card_events, whose rows hold every rule and event of the technique.
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[:FILTERS]->(f:Field)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
WITH count(DISTINCT f) AS fields
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[c:CHECKS]->(v:Value)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
  AND NOT c.negated
WITH fields, count(DISTINCT v) AS indicators
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t:Technique), (r)-[:EXCLUDES]->(x:Value)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($include_deprecated OR NOT r.deprecated)
RETURN fields, indicators, count(DISTINCT x) AS exclusions
