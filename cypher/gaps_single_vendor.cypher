// name: gaps_single_vendor
// params: $domain (string), $tactic (string), $platform (string),
//         $include_subtechniques (bool), $include_deprecated (bool)
//   as in gaps_uncovered
// row: one technique whose rules all come from a single vendor: id, name, that vendor, the
//      DISTINCT rules, and the technique's tactic shortnames and platforms.
MATCH (r:Rule)-[:DETECTS]->(t:Technique)
WHERE t.known
  AND ($domain = '' OR t.domain = $domain)
  AND ($include_subtechniques OR NOT t.is_subtechnique)
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
  AND ($include_deprecated OR NOT r.deprecated)
  AND ($platform = '' OR $platform IN t.platforms)
  AND ($tactic = '' OR EXISTS {
    MATCH (t)-[:IN_TACTIC]->(x:Tactic) WHERE x.shortname = $tactic OR x.id = $tactic
  })
WITH t, count(DISTINCT r.vendor) AS vendor_count, min(r.vendor) AS vendor,
     count(DISTINCT r) AS rules
WHERE vendor_count = 1
OPTIONAL MATCH (t)-[:IN_TACTIC]->(ta:Tactic)
WITH t, vendor, rules, collect(DISTINCT ta.shortname) AS tactics
RETURN t.id AS id, t.name AS name, vendor, rules, tactics, t.platforms AS platforms
ORDER BY id
