// kg: a rule's neighbourhood
// Set the parameters first: run the favourite kg-rule-params.
// name: viz_rule_graph
// params: rule (a rule's uid such as sigma:<id>, or its vendor id), limit (how many other rules)
// row: one per matching rule, for Neo4j Browser to draw its neighbourhood: rule; links and
//   indicators (what it checks and excludes); detects and techniques; on_event and events; and
//   shared and peers: the $limit other rules checking most of the same values, with their
//   CHECKS edges to those values.
MATCH (r:Rule)
WHERE r.uid = $rule OR r.id = $rule
OPTIONAL MATCH (r)-[:CHECKS]->(:Value)<-[:CHECKS]-(o:Rule)
WHERE o.uid <> r.uid
WITH r, o, count(*) AS common
ORDER BY common DESC, o.uid
LIMIT $limit
WITH r, collect(o.uid) AS peer_uids
OPTIONAL MATCH (r)-[:CHECKS]->(sv:Value)<-[pc:CHECKS]-(p:Rule)
WHERE p.uid IN peer_uids
WITH r, collect(pc) AS shared, collect(p) AS peers
OPTIONAL MATCH (r)-[x:CHECKS|EXCLUDES]->(v:Value)
WITH r, shared, peers, collect(x) AS links, collect(v) AS indicators
OPTIONAL MATCH (r)-[d:DETECTS]->(t:Technique)
WITH r, shared, peers, links, indicators, collect(d) AS detects, collect(t) AS techniques
OPTIONAL MATCH (r)-[e:ON_EVENT]->(ev:Event)
RETURN r AS rule, links, indicators, detects, techniques, collect(e) AS on_event,
       collect(ev) AS events, shared, peers
