// name: info_events
// params: none
// row: one analytic log-source resolution figure: ATT&CK analytics, how many read at least one
//      catalogue event (ANALYTIC_EVENT), and techniques with expected events (EXPECTS)
MATCH (a:Analytic)
WITH count(a) AS analytics,
     sum(CASE WHEN EXISTS { MATCH (a)-[:ANALYTIC_EVENT]->(:Event) } THEN 1 ELSE 0 END) AS resolved
MATCH (t:Technique)
WITH analytics, resolved,
     sum(CASE WHEN EXISTS { MATCH (t)-[:EXPECTS]->(:Event) } THEN 1 ELSE 0 END) AS expecting
RETURN analytics, resolved AS analytics_with_events, expecting AS techniques_with_expected_events
