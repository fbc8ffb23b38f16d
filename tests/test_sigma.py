"""The Sigma loader: modifiers, conditions, metadata and failures, on small inline rules."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from kg.conditions import comparisons, read
from kg.loaders.sigma import LOADER, UNSUPPORTED_REASON
from kg.model import And, Comparison, FileResult, Not, Op, Or, RuleRecord, SourceFile
from kg.normalise import normalise
from kg.settings import corpora_dir

HEADER = """\
title: Test rule
id: 0b4d5d8c-3b5f-4b52-9c55-6b1f3c2b9a10
status: test
description: A rule written for a test.
author: Test Author
date: 2024-01-02
modified: 2024/3/4
references:
    - https://example.org/post
tags:
    - attack.execution
    - attack.defense_evasion
    - attack.t1059.006
    - attack.t1685
    - attack.g0007
logsource:
    product: windows
    category: process_creation
level: high
"""


def load(text: str, relpath: str = "rules/windows/test.yml") -> FileResult:
    data = textwrap.dedent(text).encode()
    return LOADER.parse(SourceFile(f"/nowhere/{relpath}", relpath), data, None)


def rule(detection: str) -> RuleRecord:
    result = load(HEADER + "detection:\n" + textwrap.indent(textwrap.dedent(detection), "    "))
    assert result.status == "loaded", result.reason
    (record,) = result.rules
    return record


def only(detection: str) -> Comparison:
    tree = rule(detection).condition
    assert isinstance(tree, Comparison), tree
    return tree


# --- operators and modifiers ---------------------------------------------------------------


def test_plain_string_is_eq_and_glob_is_wildcard():
    assert only("sel:\n    OriginalFileName: 'netsh.exe'\ncondition: sel") == Comparison(
        "OriginalFileName", Op.EQ, "netsh.exe"
    )
    glob = only("sel:\n    Image: 'C:\\Windows\\System32\\cmd*.exe'\ncondition: sel")
    assert (glob.op, glob.value) == (Op.WILDCARD, "C:\\Windows\\System32\\cmd*.exe")


def test_escaped_wildcard_is_literal():
    c = only("sel:\n    CommandLine: 'what\\?'\ncondition: sel")
    assert (c.op, c.value) == (Op.EQ, "what?")
    c = only("sel:\n    CommandLine|contains: 'a\\*b'\ncondition: sel")
    assert (c.op, c.value) == (Op.WILDCARD, "*a[*]b*")
    # Sigma's escape: a backslash before * or ? escapes it, a doubled backslash is one backslash
    c = only("sel:\n    Image: 'C:\\Temp\\\\*'\ncondition: sel")
    assert (c.op, c.value) == (Op.WILDCARD, "C:\\Temp\\*")


@pytest.mark.parametrize(
    ("modifier", "glob"),
    [("contains", "*\\cmd.exe*"), ("startswith", "\\cmd.exe*"), ("endswith", "*\\cmd.exe")],
)
def test_position_modifiers_give_globs(modifier, glob):
    c = only(f"sel:\n    Image|{modifier}: '\\cmd.exe'\ncondition: sel")
    assert (c.op, c.value, c.native_op, c.modifiers) == (Op.WILDCARD, glob, modifier, (modifier,))


def test_regex_is_case_sensitive_unless_i():
    c = only("sel:\n    CommandLine|re: '-[eE]nc\\s+'\ncondition: sel")
    assert (c.op, c.value, c.case_sensitive) == (Op.REGEX, "-[eE]nc\\s+", True)
    c = only("sel:\n    CommandLine|re|i: 'foo.*bar'\ncondition: sel")
    assert (c.op, c.value, c.case_sensitive) == (Op.REGEX, "foo.*bar", False)
    assert c.modifiers == ("re", "i")


def test_cidr_and_ranges():
    assert only("sel:\n    DestinationIp|cidr: '10.0.0.0/8'\ncondition: sel").value == "10.0.0.0/8"
    tree = rule("sel:\n    DestinationPort|gte: 1024\n    Count|lt: 5\ncondition: sel").condition
    assert tree == And(
        (
            Comparison("DestinationPort", Op.RANGE, ">=1024", "gte", ("gte",)),
            Comparison("Count", Op.RANGE, "<5", "lt", ("lt",)),
        )
    )


def test_exists_and_null():
    assert only("sel:\n    Hashes|exists: true\ncondition: sel") == Comparison(
        "Hashes", Op.EXISTS, "", "exists", ("exists",)
    )
    absent = rule("sel:\n    Hashes|exists: false\ncondition: sel").condition
    assert absent == Not(Comparison("Hashes", Op.EXISTS, "", "exists", ("exists",)))
    null = rule("sel:\n    Image: null\ncondition: sel").condition
    assert null == Not(Comparison("Image", Op.EXISTS, "", "null"))


def test_not_null_filter_reads_as_an_indicator():
    tree = rule("sel:\n    User: admin\nfilter:\n    Image: null\ncondition: sel and not filter")
    reading = read(tree.condition)
    assert {(c.field, c.op) for c in reading.indicators} == {("User", Op.EQ), ("Image", Op.EXISTS)}
    assert reading.exclusions == () and not reading.has_nested_not


def test_numbers_and_booleans_are_eq_text():
    tree = rule("sel:\n    EventID: 4688\n    Signed: false\ncondition: sel").condition
    assert tree == And((Comparison("EventID", Op.EQ, "4688"), Comparison("Signed", Op.EQ, "false")))


@pytest.mark.parametrize(
    ("key", "value", "glob"),
    [
        ("CommandLine|base64|contains", "http://", "*http://*"),
        ("CommandLine|base64offset|contains", "IEX (", "*IEX (*"),
        ("CommandLine|wide|base64offset|contains", "ping", "*ping*"),
        ("CommandLine|utf16|base64|contains", "calc", "*calc*"),
        ("CommandLine|windash|contains", " -nop ", "* -nop *"),
    ],
)
def test_value_transforming_modifiers_keep_the_authors_value(key, value, glob):
    c = only(f"sel:\n    {key}: '{value}'\ncondition: sel")
    assert (c.op, c.value, c.modifiers) == (Op.WILDCARD, glob, tuple(key.split("|")[1:]))


def test_utf16le_is_read_as_wide():
    c = only("sel:\n    CommandLine|utf16le|base64offset|contains: 'calc'\ncondition: sel")
    assert (c.value, c.modifiers) == ("*calc*", ("wide", "base64offset", "contains"))


def test_windash_gives_one_indicator():
    tree = rule("sel:\n    CommandLine|windash|contains:\n        - ' -s '\ncondition: sel")
    assert len(list(comparisons(tree.condition))) == 1


def test_cased_is_case_sensitive():
    c = only("sel:\n    CommandLine|cased|contains: 'PowerShell'\ncondition: sel")
    assert c.case_sensitive and c.value == "*PowerShell*"
    assert normalise("sigma", c).value_key == "*PowerShell*"


def test_all_joins_values_with_and():
    tree = rule("sel:\n    CommandLine|contains|all:\n        - 'a'\n        - 'b'\ncondition: sel")
    assert isinstance(tree.condition, And)
    assert [c.value for c in tree.condition.children] == ["*a*", "*b*"]
    plain = rule("sel:\n    CommandLine|contains:\n        - 'a'\n        - 'b'\ncondition: sel")
    assert isinstance(plain.condition, Or)


def test_expand_keeps_the_placeholder():
    c = only("sel:\n    User|expand: '%admins%'\ncondition: sel")
    assert (c.op, c.value, c.modifiers) == (Op.EQ, "%admins%", ("expand",))


def test_fieldref_names_the_other_field():
    c = only("sel:\n    ParentUser|fieldref: User\ncondition: sel")
    assert (c.field, c.op, c.value, c.native_op) == ("ParentUser", Op.EQ, "User", "fieldref")


def test_neq_wraps_in_not():
    text = "sel:\n    Image|endswith: '.exe'\n    User|neq: 'SYSTEM'\ncondition: sel"
    tree = rule(text).condition
    assert isinstance(tree, And) and tree.children[1] == Not(
        Comparison("User", Op.EQ, "SYSTEM", "", ("neq",))
    )


def test_keywords_are_fieldless_matches():
    tree = rule("keywords:\n    - 'mimikatz'\n    - 'sekurlsa::*'\ncondition: keywords").condition
    assert tree == Or(
        (Comparison(None, Op.MATCH, "mimikatz"), Comparison(None, Op.MATCH, "sekurlsa::*"))
    )
    assert normalise("sigma", tree.children[0]).field == "keyword"


def test_contains_and_star_glob_share_a_value_key():
    contains = only("sel:\n    CommandLine|contains: 'Invoke-Mimikatz'\ncondition: sel")
    glob = only("sel:\n    CommandLine: '*invoke-mimikatz*'\ncondition: sel")
    assert normalise("sigma", contains).key == normalise("sigma", glob).key


def test_endswith_on_image_is_a_process_name():
    check = normalise("sigma", only("sel:\n    Image|endswith: '\\python.exe'\ncondition: sel"))
    assert (check.field, check.op, check.value_key) == ("process.name", Op.EQ, "python.exe")


# --- conditions ----------------------------------------------------------------------------

SELECTIONS = """\
selection_a:
    Image|endswith: '\\a.exe'
selection_b:
    Image|endswith: '\\b.exe'
filter_x:
    User: x
"""


def test_one_of_pattern_is_or():
    tree = rule(SELECTIONS + "condition: 1 of selection_*").condition
    assert isinstance(tree, Or) and len(tree.children) == 2


def test_all_of_them_and_one_of_them():
    assert isinstance(rule(SELECTIONS + "condition: all of them").condition, And)
    tree = rule(SELECTIONS + "condition: 1 of them").condition
    assert isinstance(tree, Or) and len(tree.children) == 3


def test_nested_parentheses():
    tree = rule(SELECTIONS + "condition: (selection_a or (selection_b and not filter_x))")
    a, b = (
        Comparison("Image", Op.WILDCARD, f"*\\{n}.exe", "endswith", ("endswith",)) for n in "ab"
    )
    assert tree.condition == Or((a, And((b, Not(Comparison("User", Op.EQ, "x"))))))


def test_top_level_not_filters_are_exclusions():
    text = SELECTIONS + "filter_y:\n    User: y\ncondition: 1 of selection_* and not 1 of filter_*"
    reading = read(rule(text).condition)
    assert [c.value for c in reading.exclusions] == ["x", "y"]
    assert len(reading.indicators) == 2 and not reading.has_nested_not


def test_nested_not_is_not_an_exclusion():
    reading = read(rule(SELECTIONS + "condition: selection_a or not filter_x").condition)
    assert reading.exclusions == ()
    assert [c.value for c in reading.negated] == ["x"] and reading.has_nested_not


def test_several_conditions_are_or():
    tree = rule(SELECTIONS + "condition:\n    - selection_a\n    - selection_b").condition
    assert isinstance(tree, Or) and len(tree.children) == 2


def test_list_of_maps_is_or_of_ands():
    tree = rule("sel:\n    - Image: a\n      User: b\n    - Image: c\ncondition: sel").condition
    assert tree == Or(
        (
            And((Comparison("Image", Op.EQ, "a"), Comparison("User", Op.EQ, "b"))),
            Comparison("Image", Op.EQ, "c"),
        )
    )


# --- metadata ------------------------------------------------------------------------------


def test_metadata():
    record = rule("sel:\n    EventID:\n        - 1\n        - 4688\ncondition: sel")
    assert record.vendor == "sigma" and record.uid == "sigma:0b4d5d8c-3b5f-4b52-9c55-6b1f3c2b9a10"
    assert (record.title, record.status, record.level) == ("Test rule", "test", "high")
    assert (record.date, record.modified) == ("2024-01-02", "2024-03-04")
    assert record.techniques == ("T1059.006", "T1685")
    assert record.tactics == ("execution", "defense-evasion")
    assert record.logsource == (("product", "windows"), ("category", "process_creation"))
    assert record.event_hints == (("EventID", "1"), ("EventID", "4688"))
    assert record.references == ("https://example.org/post",)
    assert (record.licence, record.language, record.rule_type) == ("DRL-1.1", "sigma", "detection")
    assert record.query.startswith("detection:") and "condition: sel" in record.query
    assert "logsource" not in record.query and not record.deprecated


def test_excluded_event_ids_are_not_hints():
    text = "sel:\n    EventCode: 4688\nfilter:\n    EventID: 1\ncondition: sel and not filter"
    record = rule(text)
    assert record.event_hints == (("EventID", "4688"),)


def test_deprecated_folder_and_status():
    result = load(
        HEADER + "detection:\n    sel:\n        A: b\n    condition: sel",
        "deprecated/windows/old.yml",
    )
    assert result.rules[0].deprecated
    text = HEADER.replace("status: test", "status: deprecated")
    assert load(text + "detection:\n    sel:\n        A: b\n    condition: sel").rules[0].deprecated


# --- failures and other rule kinds ---------------------------------------------------------


def test_unknown_modifier_fails_with_file_and_reason():
    result = load(HEADER + "detection:\n    sel:\n        Image|endwith: x\n    condition: sel")
    assert result.status == "failed" and not result.rules
    assert result.reason.startswith("rules/windows/test.yml: ")
    assert "Unknown modifier" in result.reason and "endwith" in result.reason


def test_undefined_detection_fails_naming_the_condition():
    result = load(HEADER + "detection:\n    sel:\n        A: b\n    condition: sel and nope")
    assert result.status == "failed"
    assert "condition 1 'sel and nope'" in result.reason and "'nope' not defined" in result.reason


def test_pipe_aggregation_fails():
    result = load(HEADER + "detection:\n    sel:\n        A: b\n    condition: sel | count() > 5")
    assert result.status == "failed" and "pipe syntax" in result.reason


def test_invalid_yaml_names_the_line():
    result = load("title: x\ndetection:\n  sel: [a\n  condition: sel\n")
    assert result.status == "failed" and result.line is not None
    assert result.reason.startswith(f"rules/windows/test.yml:{result.line}: invalid YAML")


def test_missing_title_fails():
    result = load("logsource:\n    product: x\ndetection:\n    s:\n        A: b\n    condition: s")
    assert result.status == "failed" and "title" in result.reason


CORRELATION = """\
title: Many failed logons
id: 8c3d5a5e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
status: test
correlation:
    type: event_count
    rules:
        - failed_logon
    group-by:
        - TargetUserName
    timespan: 5m
    condition:
        gte: 10
level: medium
"""


def test_correlation_rule():
    result = load(CORRELATION)
    assert result.status == "loaded", result.reason
    (record,) = result.rules
    assert record.rule_type == "correlation" and record.condition is None
    assert record.correlates == ("failed_logon",)
    assert record.group_by == ("TargetUserName",)


def test_filter_rule():
    text = """\
    title: Ignore the backup agent
    id: 2f0a3f7e-9d1c-4f6b-8a2e-5c7d9e1f3a5b
    logsource:
        product: windows
        category: process_creation
    filter:
        rules:
            - 0b4d5d8c-3b5f-4b52-9c55-6b1f3c2b9a10
        selection:
            Image|endswith: '\\backup.exe'
        condition: not selection
    """
    result = load(text)
    assert result.status == "loaded", result.reason
    (record,) = result.rules
    assert record.rule_type == "filter"
    assert record.correlates == ("0b4d5d8c-3b5f-4b52-9c55-6b1f3c2b9a10",)
    assert isinstance(record.condition, Not)


def test_multi_document_file_gives_several_rules():
    text = """\
    action: global
    title: Two of a kind
    status: test
    logsource:
        product: windows
    detection:
        condition: sel
    ---
    id: 6a1f2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b
    detection:
        sel:
            EventID: 1
    ---
    id: 7b2e3c4d-5e6f-4a70-8b8c-0d1e2f3a4b5c
    detection:
        sel:
            EventID: 4688
    """
    result = load(text)
    assert result.status == "loaded", result.reason
    assert [r.event_hints for r in result.rules] == [(("EventID", "1"),), (("EventID", "4688"),)]


def test_discover(tmp_path: Path):
    for relpath in (
        "rules/windows/a.yml",
        "rules-emerging-threats/b.yaml",
        "rules/README.md",
        "deprecated/c.yml",
        "deprecated/deprecated.csv",
        "unsupported/d.yml",
        "tests/e.yml",
    ):
        (tmp_path / relpath).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relpath).write_text("title: x\n")
    found = {f.relpath: f.skip_reason for f in LOADER.discover(tmp_path)}
    assert found == {
        "deprecated/c.yml": "",
        "rules-emerging-threats/b.yaml": "",
        "rules/windows/a.yml": "",
        "unsupported/d.yml": UNSUPPORTED_REASON,
    }


# --- the real corpus -----------------------------------------------------------------------

# Every rule under rules* loads at the pinned SigmaHQ commit; deprecated/ has one rule that
# still uses the pipe aggregation syntax pySigma rejects.
EXPECTED_FAILURES = {
    "deprecated/other/generic_brute_force.yml": "pipe syntax",
}


@pytest.mark.corpora
def test_corpus():
    root = corpora_dir() / "sigma"
    if not root.is_dir():
        pytest.skip(f"no Sigma corpus at {root} (set KG_CORPORA)")
    files = [f for f in LOADER.discover(root) if not f.skip_reason]
    results = [LOADER.parse(f, Path(f.path).read_bytes(), None) for f in files]
    failed = {r.relpath: r.reason for r in results if r.status == "failed"}
    assert sorted(failed) == sorted(EXPECTED_FAILURES)
    for relpath, words in EXPECTED_FAILURES.items():
        assert words in failed[relpath]
    active = [r for r in results if r.relpath.startswith("rules")]
    with_tree = sum(1 for r in active for rule in r.rules if rule.condition is not None)
    assert with_tree >= 0.995 * len(active)
    kinds = Counter(rule.rule_type for r in results for rule in r.rules)
    assert set(kinds) == {"detection"}
