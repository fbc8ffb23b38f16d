// name: viz_technique
// params: technique (ATT&CK id, e.g. T1059.006)
// row: the technique, if the graph holds it: id, name, url (names the centre of an overlap view)
MATCH (t:Technique)
WHERE t.id = $technique
RETURN t.id AS id, t.name AS name, t.url AS url
