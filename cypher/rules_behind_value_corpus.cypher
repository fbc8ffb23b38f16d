// name: rules_behind_value_corpus
// params: $key (string), $include_deprecated (bool)
//   $key: a Value key, "<field> <op> <value_key>"
//   $include_deprecated: also take deprecated rules
// row: one rule of the whole corpus (any technique, any vendor) checking that value with a
//      non-negated edge, i.e. the rules behind a corpus_reach figure: vendor, uid, id, title,
//      status, level, url, deprecated, author, native names and operators, and the techniques
//      the rule detects (possibly none).
MATCH (r:Rule)-[c:CHECKS]->(v:Value)
WHERE v.key = $key
  AND NOT c.negated
  AND ($include_deprecated OR NOT r.deprecated)
WITH r, collect(DISTINCT c.native_field) AS natives, collect(DISTINCT c.native_op) AS native_ops
OPTIONAL MATCH (r)-[:DETECTS]->(t:Technique)
WITH r, natives, native_ops, collect(DISTINCT t.id) AS techniques
RETURN r.vendor AS vendor, r.uid AS uid, r.id AS id, r.title AS title, r.status AS status,
       r.level AS level, r.url AS url, r.deprecated AS deprecated, r.author AS author,
       natives, native_ops, techniques
ORDER BY vendor, id
