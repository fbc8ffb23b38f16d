// name: gaps_parent_child
// params: $domain (string), $include_deprecated (bool)
//   $domain: the ATT&CK domain, e.g. enterprise-attack; '' for all
//   $include_deprecated: also take revoked/deprecated techniques and deprecated rules
// row: one parent technique whose coverage is lopsided: gap = 'parent_uncovered' when some of
//      its sub-techniques have rules but the parent itself has none, 'children_uncovered' when
//      the parent has rules but none of its sub-techniques do. With the parent's DISTINCT
//      rules, its sub-technique count and how many of them have a rule.
MATCH (c:Technique)-[:SUBTECHNIQUE_OF]->(p:Technique)
WHERE p.known AND c.known
  AND ($domain = '' OR p.domain = $domain)
  AND ($include_deprecated OR (NOT p.revoked AND NOT p.deprecated))
  AND ($include_deprecated OR (NOT c.revoked AND NOT c.deprecated))
OPTIONAL MATCH (rc:Rule)-[:DETECTS]->(c)
WHERE $include_deprecated OR NOT rc.deprecated
WITH p, c, count(DISTINCT rc) AS child_rules
WITH p, count(c) AS children, count(CASE WHEN child_rules > 0 THEN 1 END) AS covered_children
OPTIONAL MATCH (rp:Rule)-[:DETECTS]->(p)
WHERE $include_deprecated OR NOT rp.deprecated
WITH p, children, covered_children, count(DISTINCT rp) AS parent_rules
WHERE (parent_rules = 0 AND covered_children > 0) OR (parent_rules > 0 AND covered_children = 0)
RETURN p.id AS id, p.name AS name,
       CASE WHEN parent_rules = 0 THEN 'parent_uncovered' ELSE 'children_uncovered' END AS gap,
       parent_rules, children, covered_children
ORDER BY gap, id
