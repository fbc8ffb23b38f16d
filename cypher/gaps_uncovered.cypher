// name: gaps_uncovered
// params: $domain (string), $tactic (string), $platform (string),
//         $include_subtechniques (bool), $include_deprecated (bool)
//   $domain: the ATT&CK domain, e.g. enterprise-attack; '' for all
//   $tactic: only techniques of this tactic (shortname such as execution, or id TA0002); ''
//   $platform: only techniques listing this ATT&CK platform, spelt as ATT&CK does (Windows,
//     Linux, macOS...); '' for any
//   $include_subtechniques: list sub-techniques too
//   $include_deprecated: list revoked/deprecated techniques too, and let deprecated rules cover
// row: one known technique no rule DETECTS directly: id, name, is_subtechnique, parent_id, its
//      tactic shortnames and platforms.
MATCH (t:Technique)
WHERE t.known
  AND ($domain = '' OR t.domain = $domain)
  AND ($include_subtechniques OR NOT t.is_subtechnique)
  AND ($include_deprecated OR (NOT t.revoked AND NOT t.deprecated))
  AND ($platform = '' OR $platform IN t.platforms)
  AND ($tactic = '' OR EXISTS {
    MATCH (t)-[:IN_TACTIC]->(x:Tactic) WHERE x.shortname = $tactic OR x.id = $tactic
  })
  AND NOT EXISTS {
    MATCH (r:Rule)-[:DETECTS]->(t) WHERE $include_deprecated OR NOT r.deprecated
  }
OPTIONAL MATCH (t)-[:IN_TACTIC]->(ta:Tactic)
WITH t, collect(DISTINCT ta.shortname) AS tactics
RETURN t.id AS id, t.name AS name, t.is_subtechnique AS is_subtechnique,
       t.parent_id AS parent_id, tactics, t.platforms AS platforms
ORDER BY id
