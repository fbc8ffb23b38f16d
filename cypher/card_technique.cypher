// name: card_technique
// params: $technique (string)
//   $technique: an ATT&CK technique id, e.g. T1059.006
// row: the technique itself (one row, none when the id is not in the graph): its tactic
//      shortnames and direct sub-technique ids as lists (unordered; callers sort them).
MATCH (t:Technique)
WHERE t.id = $technique
OPTIONAL MATCH (t)-[:IN_TACTIC]->(ta:Tactic)
WITH t, collect(DISTINCT ta.shortname) AS tactics
OPTIONAL MATCH (s:Technique)-[:SUBTECHNIQUE_OF]->(t)
WITH t, tactics, collect(DISTINCT s.id) AS subtechniques
RETURN t.id AS id, t.name AS name, t.is_subtechnique AS is_subtechnique,
       t.parent_id AS parent_id, tactics, t.platforms AS platforms,
       t.attack_version AS attack_version, t.url AS url, t.revoked AS revoked,
       t.deprecated AS deprecated, t.known AS known, subtechniques
