// name: coverage_techniques
// params: $domain (string), $vendor (string), $include_subtechniques (bool),
//         $include_deprecated (bool)
//   $domain, $include_subtechniques, $include_deprecated: as in coverage_tactic
//   $vendor: only count this vendor's rules; '' for all vendors
// row: one technique (covered or not) with the DISTINCT rules detecting it directly, the
//      vendors of those rules and its tactic shortnames; the input of a Navigator layer.
MATCH (t:Technique)
WHERE t.known
  AND ($domain = '' OR t.domain = $domain)
  AND ($include_subtechniques OR NOT t.is_subtechnique)
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t)
WHERE ($include_deprecated OR NOT r.deprecated) AND ($vendor = '' OR r.vendor = $vendor)
WITH t, count(DISTINCT r) AS rules, collect(DISTINCT r.vendor) AS vendors
OPTIONAL MATCH (t)-[:IN_TACTIC]->(ta:Tactic)
WITH t, rules, vendors, collect(DISTINCT ta.shortname) AS tactics
RETURN t.id AS id, t.name AS name, t.is_subtechnique AS is_subtechnique,
       t.parent_id AS parent_id, rules, vendors, tactics
ORDER BY id
