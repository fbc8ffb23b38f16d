// name: info_rules
// params: none
// row: one vendor: its rules, how many have a condition tree, how many are deprecated,
//      and how many read at least one catalogue event (ON_EVENT)
MATCH (r:Rule)
WITH r.vendor AS vendor, r,
     CASE WHEN r.parse_status = 'ok' THEN 1 ELSE 0 END AS parsed,
     CASE WHEN r.deprecated THEN 1 ELSE 0 END AS old,
     CASE WHEN EXISTS { MATCH (r)-[:ON_EVENT]->(:Event) } THEN 1 ELSE 0 END AS on_event
RETURN vendor, count(r) AS rules, sum(parsed) AS with_tree, sum(old) AS deprecated,
       sum(on_event) AS mapped_to_events
ORDER BY vendor
