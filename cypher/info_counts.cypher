// name: info_counts
// params: none
// row: one node label and how many nodes carry it
MATCH (n:Technique) RETURN 'Technique' AS label, count(n) AS nodes
UNION ALL MATCH (n:Tactic) RETURN 'Tactic' AS label, count(n) AS nodes
UNION ALL MATCH (n:DataComponent) RETURN 'DataComponent' AS label, count(n) AS nodes
UNION ALL MATCH (n:DetectionStrategy) RETURN 'DetectionStrategy' AS label, count(n) AS nodes
UNION ALL MATCH (n:Analytic) RETURN 'Analytic' AS label, count(n) AS nodes
UNION ALL MATCH (n:Rule) RETURN 'Rule' AS label, count(n) AS nodes
UNION ALL MATCH (n:Field) RETURN 'Field' AS label, count(n) AS nodes
UNION ALL MATCH (n:Value) RETURN 'Value' AS label, count(n) AS nodes
UNION ALL MATCH (n:Event) RETURN 'Event' AS label, count(n) AS nodes
UNION ALL MATCH (n:Source) RETURN 'Source' AS label, count(n) AS nodes
