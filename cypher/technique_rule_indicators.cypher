// name: technique_rule_indicators
// params: $technique (string), $vendor (string), $include_subtechniques (bool)
//   $technique: ATT&CK id, e.g. T1059.006
//   $vendor: sigma, elastic or splunk; '' for every vendor
//   $include_subtechniques: also the rules of the technique's sub-techniques
// row: one comparison of one rule detecting the technique: the rule (uid, title, author,
//      link), whether the comparison is an indicator, a negated indicator (under a nested
//      NOT) or an exclusion (in a top-level NOT), the canonical (field, op, value) and the
//      native field name the rule wrote.
MATCH (r:Rule)-[:DETECTS]->(t:Technique)
WHERE (t.id = $technique OR ($include_subtechniques AND t.parent_id = $technique))
  AND ($vendor = '' OR r.vendor = $vendor)
WITH DISTINCT r
MATCH (r)-[c:CHECKS|EXCLUDES]->(v:Value)
RETURN r.uid AS uid, r.title AS title, r.author AS author, r.url AS url,
       CASE WHEN type(c) = 'EXCLUDES' THEN 'exclusion'
            WHEN c.negated THEN 'negated indicator'
            ELSE 'indicator' END AS kind,
       v.field AS field, v.op AS op, v.value AS value, c.native_field AS native_field
ORDER BY uid, kind, field, op, value, native_field
