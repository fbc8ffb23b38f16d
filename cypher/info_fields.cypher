// name: info_fields
// params: none
// row: one vendor: the canonical fields its rules filter, how many of those no field table
//      maps (kept under their native name, Field.mapped = false), and the native names
//      behind them
MATCH (r:Rule)-[f:FILTERS]->(x:Field)
WITH r.vendor AS vendor, x, f.native_field AS native
RETURN vendor, count(DISTINCT x.name) AS fields,
       count(DISTINCT CASE WHEN x.mapped THEN NULL ELSE x.name END) AS unmapped_fields,
       count(DISTINCT native) AS native_names
ORDER BY vendor
