// name: coverage_vendor_tactic
// params: $domain (string), $include_subtechniques (bool), $include_deprecated (bool)
//   as in coverage_tactic
// row: one (tactic, vendor) pair where the vendor covers at least one technique of the
//      tactic: techniques it covers, and how many of those no other vendor covers
//      (only_vendor). Tactic totals and uncovered counts are in coverage_tactic.
MATCH (r:Rule)-[:DETECTS]->(t:Technique)-[:IN_TACTIC]->(ta:Tactic)
WHERE t.known
  AND ($domain = '' OR t.domain = $domain)
  AND ($include_subtechniques OR NOT t.is_subtechnique)
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
  AND ($include_deprecated OR NOT r.deprecated)
WITH ta, t, collect(DISTINCT r.vendor) AS vendors
UNWIND vendors AS vendor
RETURN ta.id AS tactic_id, ta.shortname AS tactic, vendor, count(DISTINCT t) AS techniques,
       count(DISTINCT CASE WHEN size(vendors) = 1 THEN t.id END) AS only_vendor
ORDER BY tactic_id, vendor
