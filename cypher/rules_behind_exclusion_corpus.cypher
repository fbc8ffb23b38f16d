// name: rules_behind_exclusion_corpus
// params: $key (string), $include_deprecated (bool)
//   as in rules_behind_value_corpus
// row: one rule of the whole corpus excluding that value (the rules behind an exclusion's
//      corpus_reach): vendor, uid, id, title, status, level, url, deprecated, author, native
//      names and operators, and the techniques the rule detects (possibly none).
MATCH (r:Rule)-[c:EXCLUDES]->(v:Value)
WHERE v.key = $key
  AND ($include_deprecated OR NOT r.deprecated)
WITH r, collect(DISTINCT c.native_field) AS natives, collect(DISTINCT c.native_op) AS native_ops
OPTIONAL MATCH (r)-[:DETECTS]->(t:Technique)
WITH r, natives, native_ops, collect(DISTINCT t.id) AS techniques
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author,
       natives, native_ops, techniques
ORDER BY vendor, id
