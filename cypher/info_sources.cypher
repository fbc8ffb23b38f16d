// name: info_sources
// params: none
// row: one loaded source: its name, pinned version and commit, licence, files seen, rules loaded
MATCH (s:Source)
RETURN s.name AS source, s.version AS version, s.commit AS commit, s.licence AS licence,
       s.files_seen AS files_seen, s.rules_loaded AS rules_loaded
ORDER BY source
