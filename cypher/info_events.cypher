// name: info_events
// params: none
// row: how ATT&CK's analytics resolve to catalogue events: analytics, their log-source
//      references and how many of those name a catalogue event, analytics with at least one
//      event (ANALYTIC_EVENT), and techniques with expected events (EXPECTS)
MATCH (a:Analytic)
WITH count(a) AS analytics, sum(coalesce(a.log_sources, 0)) AS log_sources,
     sum(coalesce(a.log_sources_resolved, 0)) AS resolved,
     count(CASE WHEN EXISTS { MATCH (a)-[:ANALYTIC_EVENT]->(:Event) } THEN 1 END) AS with_events
MATCH (t:Technique)
WITH analytics, log_sources, resolved, with_events,
     count(CASE WHEN EXISTS { MATCH (t)-[:EXPECTS]->(:Event) } THEN 1 END) AS expecting
RETURN analytics, log_sources AS analytic_log_sources, resolved AS log_sources_resolved,
       with_events AS analytics_with_events, expecting AS techniques_with_expected_events
