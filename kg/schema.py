"""The graph schema, declared once and applied to both stores.

Every node label has one key property (unique on Neo4j, the primary key of the
embedded engine's node table) and a fixed set of typed properties.  Every
relationship type lists the label pairs it may join.  The embedded engine needs
all of this before the first write; Neo4j gets uniqueness constraints and
indexes from the same declaration.  Queries in ``cypher/`` may only use what is
declared here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Property types, in the embedded engine's spelling.  Neo4j is schema-free,
#: so there the types only document what the writer sends.
STRING = "STRING"
INT = "INT64"
DOUBLE = "DOUBLE"
BOOL = "BOOLEAN"
STRINGS = "STRING[]"


@dataclass(frozen=True)
class NodeType:
    label: str
    key: str
    properties: tuple[tuple[str, str], ...]
    indexes: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.properties)


@dataclass(frozen=True)
class RelType:
    name: str
    pairs: tuple[tuple[str, str], ...]
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.properties)


NODES: tuple[NodeType, ...] = (
    NodeType(
        "Technique",
        "id",
        (
            ("id", STRING),  # T1059.006
            ("name", STRING),
            ("stix_id", STRING),
            ("is_subtechnique", BOOL),
            ("parent_id", STRING),  # "" for a parent technique
            ("platforms", STRINGS),
            ("domain", STRING),  # enterprise-attack, mobile-attack, ics-attack
            ("url", STRING),
            ("revoked", BOOL),
            ("deprecated", BOOL),
            # False for an id that rules tag but the loaded ATT&CK version lacks
            ("known", BOOL),
            ("attack_version", STRING),
        ),
        indexes=("name",),
    ),
    NodeType(
        "Tactic",
        "id",
        (
            ("id", STRING),  # TA0002
            ("shortname", STRING),  # execution
            ("name", STRING),
            ("stix_id", STRING),
            ("domain", STRING),
            ("url", STRING),
            ("known", BOOL),
        ),
        indexes=("shortname",),
    ),
    NodeType(
        "DataComponent",
        "id",
        (
            ("id", STRING),  # DC0032
            ("name", STRING),
            ("stix_id", STRING),
            ("data_source", STRING),
            ("revoked", BOOL),
            ("deprecated", BOOL),
        ),
    ),
    NodeType(
        "DetectionStrategy",
        "id",
        (
            ("id", STRING),  # DET0001
            ("name", STRING),
            ("stix_id", STRING),
            ("revoked", BOOL),
            ("deprecated", BOOL),
        ),
    ),
    NodeType(
        "Analytic",
        "id",
        (
            ("id", STRING),  # AN0001
            ("name", STRING),
            ("stix_id", STRING),
            ("platforms", STRINGS),
            ("description", STRING),
            ("revoked", BOOL),
            ("deprecated", BOOL),
            ("log_sources", INT),  # log-source references ATT&CK gives the analytic
            ("log_sources_resolved", INT),  # of those, how many name catalogue events
        ),
    ),
    NodeType(
        "Rule",
        "uid",
        (
            ("uid", STRING),  # "<vendor>:<id>", unique across vendors
            ("id", STRING),  # the vendor's own rule id
            ("vendor", STRING),  # sigma, elastic, splunk
            ("title", STRING),
            ("description", STRING),
            ("status", STRING),  # Sigma status / Elastic maturity / Splunk status
            ("level", STRING),  # Sigma level / Elastic severity / Splunk type-derived
            ("rule_type", STRING),  # eql, query, esql, TTP, correlation, ...
            ("author", STRING),
            ("date", STRING),
            ("modified", STRING),
            ("path", STRING),  # path inside the source repository
            ("url", STRING),  # link to the rule at the pinned commit
            ("language", STRING),  # sigma, eql, kuery, esql, lucene, spl
            ("query", STRING),
            ("logsource", STRING),  # as the rule states it, "key=value" joined by "; "
            ("data_sources", STRINGS),
            ("deprecated", BOOL),
            ("building_block", BOOL),
            ("parse_status", STRING),  # ok, no_query, failed, unsupported
            ("parse_reason", STRING),
            ("has_nested_not", BOOL),
            ("licence", STRING),
        ),
        indexes=("vendor", "id"),
    ),
    NodeType(
        "Field",
        "name",
        (
            ("name", STRING),  # canonical field name
            ("mapped", BOOL),  # False when no table maps the native name
        ),
    ),
    NodeType(
        "Value",
        "key",
        (
            ("key", STRING),  # "<field> <op> <value_key>", see kg.normalise
            ("field", STRING),
            ("op", STRING),
            ("value", STRING),  # human value as first seen
            ("value_key", STRING),
            # corpus reach, derived at build time (kg.derive): DISTINCT rules with a
            # non-negated CHECKS edge / an EXCLUDES edge here; "_active": not deprecated
            ("reach", INT),
            ("reach_active", INT),
            ("exclusion_reach", INT),
            ("exclusion_reach_active", INT),
        ),
        indexes=("field",),
    ),
    NodeType(
        "Event",
        "key",
        (
            ("key", STRING),  # "<provider>:<event_id>"
            ("provider", STRING),
            ("event_id", STRING),
            ("title", STRING),
            ("platform", STRING),
            ("channel", STRING),
            ("description", STRING),
        ),
        indexes=("provider",),
    ),
    NodeType(
        "Source",
        "name",
        (
            ("name", STRING),  # attack-enterprise, sigma, elastic, splunk, events
            ("version", STRING),
            ("commit", STRING),
            ("url", STRING),
            ("licence", STRING),
            ("fingerprint", STRING),
            ("files_seen", INT),
            ("rules_loaded", INT),
        ),
    ),
)

_CHECK_PROPS = (
    ("native_field", STRING),
    ("native_op", STRING),  # the vendor's own operator or modifier chain
    ("modifiers", STRINGS),
    ("case_sensitive", BOOL),
    ("negated", BOOL),  # under a NOT that is not a top-level exclusion
    ("derived", BOOL),  # a field the query computes, not a log field
)

RELS: tuple[RelType, ...] = (
    RelType("SUBTECHNIQUE_OF", (("Technique", "Technique"),)),
    RelType("IN_TACTIC", (("Technique", "Tactic"),)),
    RelType("DETECTS", (("Rule", "Technique"),)),
    RelType("TAGGED_TACTIC", (("Rule", "Tactic"),)),
    RelType("CHECKS", (("Rule", "Value"),), _CHECK_PROPS),
    RelType("EXCLUDES", (("Rule", "Value"),), _CHECK_PROPS),
    RelType("OF_FIELD", (("Value", "Field"),)),
    RelType(
        "FILTERS",
        (("Rule", "Field"),),
        (("native_field", STRING), ("ops", STRINGS), ("role", STRING)),
    ),
    RelType("ON_EVENT", (("Rule", "Event"),), (("via", STRING),)),
    RelType("EXPECTS", (("Technique", "Event"),), (("via", STRING),)),
    RelType("HAS_FIELD", (("Event", "Field"),), (("native_field", STRING),)),
    RelType("DETECTED_BY", (("Technique", "DetectionStrategy"),)),
    RelType("HAS_ANALYTIC", (("DetectionStrategy", "Analytic"),)),
    RelType(
        "USES_COMPONENT",
        (("Analytic", "DataComponent"),),
        (("name", STRING), ("channel", STRING)),
    ),
    RelType(
        "ANALYTIC_EVENT",
        (("Analytic", "Event"),),
        (("via", STRING),),  # the log-source reference, "<name> <channel>"
    ),
    RelType("CORRELATES", (("Rule", "Rule"),)),
    RelType("FROM_SOURCE", (("Rule", "Source"),)),
)

#: Secondary labels Neo4j puts beside ``:Rule`` so that Browser styles (GraSS selects on
#: labels only) can colour rules by vendor.  The embedded store has one label per node.
VENDOR_LABELS = {"sigma": "Sigma", "elastic": "Elastic", "splunk": "Splunk"}

NODE_BY_LABEL = {node.label: node for node in NODES}
REL_BY_NAME = {rel.name: rel for rel in RELS}

#: Bumped whenever NODES or RELS change, so that an old database is rebuilt.
SCHEMA_VERSION = "4"
