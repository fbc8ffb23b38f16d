// name: coverage_tactic
// params: $domain (string), $include_subtechniques (bool), $include_deprecated (bool)
//   $domain: the ATT&CK domain, e.g. enterprise-attack; '' for all
//   $include_subtechniques: count sub-techniques as techniques of their tactics
//   $include_deprecated: also count revoked/deprecated techniques and deprecated rules
// row: one tactic: how many of its techniques are covered by no vendor (uncovered), by exactly
//      one vendor (single_vendor) and by two or more (multi_vendor). A technique is covered
//      by a vendor when one of that vendor's rules DETECTS it directly.
MATCH (t:Technique)-[:IN_TACTIC]->(ta:Tactic)
WHERE t.known
  AND ($domain = '' OR t.domain = $domain)
  AND ($include_subtechniques OR NOT t.is_subtechnique)
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
OPTIONAL MATCH (r:Rule)-[:DETECTS]->(t)
WHERE $include_deprecated OR NOT r.deprecated
WITH ta, t, count(DISTINCT r.vendor) AS vendors
RETURN ta.id AS tactic_id, ta.shortname AS tactic, ta.name AS name, count(t) AS techniques,
       count(CASE WHEN vendors = 0 THEN 1 END) AS uncovered,
       count(CASE WHEN vendors = 1 THEN 1 END) AS single_vendor,
       count(CASE WHEN vendors > 1 THEN 1 END) AS multi_vendor
ORDER BY tactic_id
