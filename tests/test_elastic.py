"""The Elastic loader and its query parsers, on small inline rules and queries."""

from __future__ import annotations

import textwrap

import pytest

from kg.loaders import elastic_eql, elastic_esql, elastic_kql, elastic_lucene
from kg.loaders.elastic import LOADER
from kg.loaders.elastic_tree import QuerySyntaxError
from kg.model import And, Comparison, Not, Op, Or, SourceFile
from kg.normalise import normalise


def cmp(field, op, value, native="", cs=False, modifiers=(), derived=False):
    return Comparison(field, op, value, native, modifiers, case_sensitive=cs, derived=derived)


def load(toml: str, relpath: str = "rules/windows/test_rule.toml"):
    data = textwrap.dedent(toml).encode()
    return LOADER.parse(SourceFile(f"/x/{relpath}", relpath), data, None)


RULE = """\
[metadata]
creation_date = "2023/01/11"
integration = ["endpoint"]
maturity = "production"
updated_date = "2026/07/28"

[rule]
author = ["Elastic", "Someone"]
description = "A rule written for a test."
index = ["logs-endpoint.events.process-*"]
language = "{language}"
license = "Elastic License v2"
name = "Test rule"
risk_score = 47
rule_id = "1dee0500-4aeb-44ca-b24b-4a285d7b6ba1"
severity = "medium"
tags = ["OS: Windows", "Tactic: Execution"]
type = "{type}"

query = \'\'\'
{query}
\'\'\'
{extra}

[[rule.threat]]
framework = "MITRE ATT&CK"
[[rule.threat.technique]]
id = "T1059"
name = "Command and Scripting Interpreter"
[[rule.threat.technique.subtechnique]]
id = "T1059.006"
name = "Python"
[rule.threat.tactic]
id = "TA0005"
name = "Defense Evasion"
"""


def rule_toml(query: str, language: str = "eql", type_: str = "eql", extra: str = "") -> str:
    return RULE.format(query=query, language=language, type=type_, extra=extra)


# --- EQL --------------------------------------------------------------------------


def test_eql_sequence_joins_steps_in_order_and_groups_by_its_by_fields():
    parsed = elastic_eql.parse(
        textwrap.dedent(
            """\
            sequence by host.id with maxspan=1m
              [process where process.name == "a.exe"] by process.entity_id
              [network where destination.port > 1024] by process.entity_id
            until [process where event.type == "end"]
            """
        )
    )
    assert parsed.condition == And(
        (
            cmp("process.name", Op.EQ, "a.exe", "==", cs=True),
            cmp("destination.port", Op.RANGE, ">1024", ">"),
            Not(cmp("event.type", Op.EQ, "end", "==", cs=True)),
        )
    )
    assert parsed.group_by == ("host.id", "process.entity_id")
    assert parsed.categories == ("process", "network")


def test_eql_negated_group_is_a_not_over_an_or():
    parsed = elastic_eql.parse(
        'process where not (process.name : "a.exe" or user.id == "S-1-5-18")'
    )
    assert parsed.condition == Not(
        Or(
            (
                cmp("process.name", Op.EQ, "a.exe", ":"),
                cmp("user.id", Op.EQ, "S-1-5-18", "==", cs=True),
            )
        )
    )


def test_eql_in_tilde_list_is_one_insensitive_eq_per_value():
    parsed = elastic_eql.parse('process where process.name in~ ("a.exe", "B.EXE")')
    assert parsed.condition == Or(
        (cmp("process.name", Op.EQ, "a.exe", "in~"), cmp("process.name", Op.EQ, "B.EXE", "in~"))
    )


def test_eql_not_in_and_in_are_case_sensitive_and_negated():
    parsed = elastic_eql.parse('process where process.name not in ("a.exe")')
    assert parsed.condition == Not(cmp("process.name", Op.EQ, "a.exe", "in", cs=True))


def test_eql_like_tilde_and_colon_wildcards_resolve_escapes():
    parsed = elastic_eql.parse(
        r'file where file.path like~ "C:\\Users\\*" and process.executable : "*\\python.exe"'
    )
    assert parsed.condition == And(
        (
            cmp("file.path", Op.WILDCARD, "C:\\Users\\*", "like~"),
            cmp("process.executable", Op.WILDCARD, "*\\python.exe", ":"),
        )
    )


def test_eql_regex_tilde_keeps_the_pattern_raw_in_triple_quotes():
    parsed = elastic_eql.parse('process where process.command_line regex~ """.*\\d{3}.*"""')
    assert parsed.condition == cmp("process.command_line", Op.REGEX, ".*\\d{3}.*", "regex~")


def test_eql_starts_with_becomes_a_glob_with_the_literal_escaped():
    parsed = elastic_eql.parse('process where startsWith(process.name, "py*")')
    assert parsed.condition == cmp("process.name", Op.WILDCARD, "py[*]*", "startsWith", cs=True)


def test_eql_cidr_match_is_one_cidr_test_per_block():
    parsed = elastic_eql.parse('network where cidrMatch(destination.ip, "10.0.0.0/8", "fc00::/7")')
    assert parsed.condition == Or(
        (
            cmp("destination.ip", Op.CIDR, "10.0.0.0/8", "cidrMatch"),
            cmp("destination.ip", Op.CIDR, "fc00::/7", "cidrMatch"),
        )
    )


def test_eql_length_null_fieldref_and_optional_fields():
    parsed = elastic_eql.parse(
        "process where length(process.args) >= 3 and ?process.parent.name != null"
        " and process.name != process.parent.name"
    )
    assert parsed.condition == And(
        (
            cmp("process.args", Op.RANGE, ">=3", ">=", modifiers=("length",), derived=True),
            cmp("process.parent.name", Op.EXISTS, "", "!="),
            Not(cmp("process.name", Op.EQ, "process.parent.name", "!=", True, ("fieldref",))),
        )
    )


def test_eql_missing_event_step_and_trailing_pipe_quirks():
    parsed = elastic_eql.parse(
        'sequence by user.id [any where event.action == "a"] ![any where event.action == "b"]'
        " | tail 1"
    )
    assert parsed.condition == And(
        (
            cmp("event.action", Op.EQ, "a", "==", cs=True),
            Not(cmp("event.action", Op.EQ, "b", "==", cs=True)),
        )
    )
    assert parsed.notes == ("eql pipe ignored: tail",)


def test_eql_function_of_two_fields_is_a_derived_fieldref():
    parsed = elastic_eql.parse("iam where startsWith~(host.name, user.name)")
    assert parsed.condition == cmp(
        "host.name",
        Op.EQ,
        "user.name",
        "startsWith",
        modifiers=("fieldref", "startswith"),
        derived=True,
    )


def test_eql_syntax_error_names_line_and_column():
    with pytest.raises(QuerySyntaxError) as info:
        elastic_eql.parse('process where\n  process.name == "a" and and')
    assert (info.value.line, info.value.column) == (2, 27)


def test_sigma_endswith_and_eql_colon_glob_share_one_value_key():
    sigma = normalise("sigma", Comparison("Image", Op.WILDCARD, "*\\python.exe", "endswith"))
    eql = elastic_eql.parse('process where process.executable : "*\\\\python.exe"').condition
    assert normalise("elastic", eql).key == sigma.key


# --- KQL and Lucene ---------------------------------------------------------------


def test_kql_nested_value_group_binds_every_value_to_the_field():
    parsed = elastic_kql.parse('process.name:(a.exe or "b c" or not C\\:\\\\x\\\\*)')
    assert parsed.condition == Or(
        (
            cmp("process.name", Op.EQ, "a.exe", ":"),
            cmp("process.name", Op.EQ, "b c", ":"),
            Not(cmp("process.name", Op.WILDCARD, "C:\\x\\*", ":")),
        )
    )


def test_kql_ranges_exists_and_keywords_in_any_case():
    parsed = elastic_kql.parse(
        'destination.port >= 1024 AND user.name:* and NOT @timestamp < "now"'
    )
    assert parsed.condition == And(
        (
            cmp("destination.port", Op.RANGE, ">=1024", ">="),
            cmp("user.name", Op.EXISTS, "", ":"),
            Not(cmp("@timestamp", Op.RANGE, "<now", "<")),
        )
    )


def test_kql_free_text_has_no_field_and_question_mark_is_literal():
    parsed = elastic_kql.parse('"mimikatz" or file.name:a?b*')
    assert parsed.condition == Or(
        (cmp(None, Op.MATCH, "mimikatz", ":"), cmp("file.name", Op.WILDCARD, "a[?]b*", ":"))
    )


def test_kql_nested_query_prefixes_fields():
    parsed = elastic_kql.parse("policy.delta:{ action:REMOVE and role:owner }")
    assert parsed.condition == And(
        (
            cmp("policy.delta.action", Op.EQ, "REMOVE", ":"),
            cmp("policy.delta.role", Op.EQ, "owner", ":"),
        )
    )


def test_lucene_operators_regex_and_negated_group():
    parsed = elastic_lucene.parse(
        "event.category:process AND NOT user.name:(root OR admin*) AND a:/2[0-9]{3}/"
    )
    assert parsed.condition == And(
        (
            cmp("event.category", Op.EQ, "process", ":"),
            Not(
                Or(
                    (
                        cmp("user.name", Op.EQ, "root", ":"),
                        cmp("user.name", Op.WILDCARD, "admin*", ":"),
                    )
                )
            ),
            cmp("a", Op.REGEX, "2[0-9]{3}", ":"),
        )
    )


# --- ES|QL ------------------------------------------------------------------------

ESQL = """\
from logs-endpoint.events.process-*, logs-windows.* metadata _id // a | in a comment
| where host.os.type == "windows" and process.command_line like "*\\\\\\\\temp\\\\\\\\*"
| eval Esql.length = length(process.command_line)
| stats Esql.count = count(*) by host.id, user.name
| frobnicate everything
| where Esql.length > 200 and Esql.count >= 3
"""


def test_esql_eval_and_stats_outputs_are_derived_and_stats_by_groups():
    parsed = elastic_esql.parse(ESQL)
    assert parsed.condition == And(
        (
            cmp("host.os.type", Op.EQ, "windows", "==", cs=True),
            cmp("process.command_line", Op.WILDCARD, "*\\temp\\*", "like", cs=True),
            cmp("Esql.length", Op.RANGE, ">200", ">", derived=True),
            cmp("Esql.count", Op.RANGE, ">=3", ">=", derived=True),
        )
    )
    assert parsed.group_by == ("host.id", "user.name")
    assert parsed.indices == ("logs-endpoint.events.process-*", "logs-windows.*")
    assert parsed.notes == ("esql command skipped: frobnicate",)


def test_esql_like_rlike_in_is_not_null_and_not():
    parsed = elastic_esql.parse(
        'FROM logs-* | WHERE TO_LOWER(process.name) LIKE "py*" AND process.args RLIKE ".*-c.*"'
        ' AND user.name IN ("a", "b") AND process.parent.name IS NOT NULL'
        ' AND NOT file.path LIKE "/tmp/*" AND process.pid NOT IN (1)'
    )
    assert parsed.condition == And(
        (
            cmp("process.name", Op.WILDCARD, "py*", "like", modifiers=("to_lower",)),
            cmp("process.args", Op.REGEX, ".*-c.*", "rlike", cs=True),
            Or(
                (
                    cmp("user.name", Op.EQ, "a", "in", cs=True),
                    cmp("user.name", Op.EQ, "b", "in", cs=True),
                )
            ),
            cmp("process.parent.name", Op.EXISTS, "", "is not null"),
            Not(cmp("file.path", Op.WILDCARD, "/tmp/*", "like", cs=True)),
            Not(cmp("process.pid", Op.EQ, "1", "in")),
        )
    )


def test_esql_rename_sends_later_tests_back_to_the_source_field():
    parsed = elastic_esql.parse('from x | rename user.name as u | where u != "root"')
    assert parsed.condition == Not(cmp("user.name", Op.EQ, "root", "!=", cs=True))


def test_esql_type_conversion_keeps_the_field_and_contains_is_a_glob():
    parsed = elastic_esql.parse(
        'from x | where CIDR_MATCH(TO_IP(source.ip), "10.0.0.0/8") and CONTAINS(url.path, "a*")'
    )
    assert parsed.condition == And(
        (
            cmp("source.ip", Op.CIDR, "10.0.0.0/8", "cidr_match", modifiers=("to_ip",)),
            cmp("url.path", Op.WILDCARD, "*a[*]*", "contains", cs=True),
        )
    )


def test_esql_syntax_error_is_placed_in_the_whole_query():
    with pytest.raises(QuerySyntaxError) as info:
        elastic_esql.parse('from x\n| where a == "b" and c === 1')
    assert (info.value.line, info.value.column) == (2, 26)


# --- the loader ---------------------------------------------------------------------


def test_metadata_threat_and_event_hints():
    result = load(rule_toml('process where host.os.type == "windows" and event.type == "start"'))
    assert result.status == "loaded"
    (rule,) = result.rules
    assert rule.uid == "elastic:1dee0500-4aeb-44ca-b24b-4a285d7b6ba1"
    assert (rule.title, rule.level, rule.status, rule.rule_type) == (
        "Test rule",
        "medium",
        "production",
        "eql",
    )
    assert (rule.date, rule.modified, rule.author) == (
        "2023-01-11",
        "2026-07-28",
        "Elastic, Someone",
    )
    assert rule.techniques == ("T1059", "T1059.006")
    assert rule.tactics == ("defense-evasion",)
    assert rule.data_sources == ("logs-endpoint.events.process-*",)
    assert rule.licence == "Elastic License 2.0"
    assert rule.event_hints == (
        ("event.category", "process"),
        ("host.os.type", "windows"),
        ("event.type", "start"),
        ("os", "windows"),
    )
    assert not rule.deprecated and not rule.building_block


def test_threshold_fields_and_cardinality_are_the_grouping():
    extra = """\
[rule.threshold]
field = ["host.id", "user.name"]
value = 5
[[rule.threshold.cardinality]]
field = "source.ip"
value = 3
"""
    (rule,) = load(rule_toml("event.category:authentication", "kuery", "threshold", extra)).rules
    assert rule.group_by == ("host.id", "user.name", "source.ip")
    assert rule.condition == cmp("event.category", Op.EQ, "authentication", ":")


def test_new_terms_fields_are_the_grouping():
    extra = """\
[rule.new_terms]
field = "new_terms_fields"
value = ["host.id", "process.command_line"]
"""
    (rule,) = load(rule_toml("process.name:curl", "kuery", "new_terms", extra)).rules
    assert rule.group_by == ("host.id", "process.command_line")


def test_machine_learning_rule_has_no_query():
    toml = rule_toml("", "eql", "machine_learning").replace("query = '''\n\n'''", "")
    toml = toml.replace('language = "eql"\n', 'machine_learning_job_id = ["job"]\n')
    (rule,) = load(toml).rules
    assert (rule.parse_status, rule.parse_reason) == ("no_query", "machine_learning job: no query")
    assert rule.condition is None


def test_deprecated_folder_and_building_block_flags():
    toml = rule_toml("any where true").replace(
        "[rule]\n", '[rule]\nbuilding_block_type = "default"\n'
    )
    (rule,) = load(toml, "rules/_deprecated/old.toml").rules
    assert rule.deprecated and rule.building_block
    assert rule.condition is None and rule.parse_status == "ok"


def test_bad_query_fails_its_file_with_the_toml_line():
    result = load(rule_toml('process where\nprocess.name == "a" and and'))
    assert result.status == "failed"
    assert "line 2 column 25" in result.reason
    assert result.line == RULE.splitlines().index("query = '''") + 3


def test_kibana_filters_are_more_conjuncts_negated_when_asked():
    extra = """\
[[rule.filters]]
[rule.filters.meta]
negate = true
[rule.filters.query.wildcard."file.path"]
case_insensitive = true
value = "?:\\\\\\\\Program Files\\\\\\\\*"
"""
    (rule,) = load(rule_toml("file.name:a.ps1", "kuery", "query", extra)).rules
    assert rule.condition == And(
        (
            cmp("file.name", Op.EQ, "a.ps1", ":"),
            Not(cmp("file.path", Op.WILDCARD, "?:\\Program Files\\*", "wildcard")),
        )
    )
