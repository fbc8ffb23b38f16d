"""The Splunk loader: macros, the SPL pipeline, metadata and failures, on small inline searches."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest
import yaml

from kg.loaders.splunk import LOADER
from kg.loaders.splunk_macros import Macro, expand, read_macro
from kg.model import And, Comparison, FileResult, Not, Op, Or, RuleRecord, SourceFile
from kg.normalise import normalise

MACRO_FILES = {
    "sysmon.yml": """\
        definition: sourcetype=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational
          OR source=XmlWinEventLog:Microsoft-Windows-Sysmon/Operational
        description: where Sysmon events are
        name: sysmon
    """,
    "summariesonly.yml": """\
        definition: summariesonly=`summariesonly_config` allow_old_summaries=true
        name: security_content_summariesonly
    """,
    "summariesonly_config.yml": "definition: 'false'\nname: summariesonly_config\n",
    "process_cmd.yml": """\
        definition: (Processes.process_name=cmd.exe OR Processes.original_file_name=Cmd.Exe)
        name: process_cmd
    """,
    "ctime.yml": """\
        arguments:
          - field
        definition: 'convert timeformat="%Y-%m-%dT%H:%M:%S" ctime($field$)'
        name: security_content_ctime
    """,
    "pair.yml": """\
        arguments: [a, b]
        definition: '$a$=$b$'
        name: pair(2)
    """,
    "quiet_filter.yml": "definition: search *\nname: quiet_filter\n",
    "loop.yml": "definition: '`loop`'\nname: loop\n",
}


def macros() -> dict[str, Macro]:
    table = {}
    for name, text in MACRO_FILES.items():
        macro = read_macro(Path(name), textwrap.dedent(text).encode())
        table[macro.key] = macro
    return table


def detection(search: str, **extra: str) -> str:
    doc = {
        "name": "Test Detection",
        "id": "5f0a1b2c-0000-4000-8000-000000000001",
        "version": "1",
        "date": "2024-05-06",
        "author": "Test Author, Splunk",
        "type": extra.get("type", "TTP"),
        "status": extra.get("status", "production"),
        "data_source": ["Sysmon EventID 1"],
        "description": "A detection written for a test.",
        "search": search,
        "references": ["https://example.org/post"],
        "tags": {
            "analytic_story": ["Test Story"],
            "confidence": 50,
            "impact": 60,
            "risk_score": int(extra.get("risk_score", 30)),
            "mitre_attack_id": ["t1059.003"],
            "kill_chain_phases": ["Installation"],
        },
    }
    return yaml.safe_dump(doc)


def load(search: str, relpath: str = "detections/endpoint/test.yml", **extra: str) -> FileResult:
    data = detection(search, **extra).encode()
    return LOADER.parse(SourceFile(f"/nowhere/{relpath}", relpath), data, macros())


def rule(search: str, **extra: str) -> RuleRecord:
    result = load(search, **extra)
    assert result.status == "loaded", result.reason
    (record,) = result.rules
    return record


def tree(search: str):
    record = rule(search)
    assert record.parse_status == "ok", record.parse_reason
    return record.condition


def cmp(field: str | None, op: Op, value: str, native: str = "=", **kw: bool) -> Comparison:
    return Comparison(field, op, value, native, (), kw.get("cs", False), kw.get("derived", False))


# --- golden searches named in the brief -------------------------------------------------------


def test_tstats_with_macro():
    record = rule(
        "| tstats `security_content_summariesonly` count min(_time) as firstTime "
        'from datamodel=Endpoint.Processes where `process_cmd` Processes.process="*/c *" '
        "by Processes.dest Processes.user | `drop_dm_object_name(Processes)` "
        "| `security_content_ctime(firstTime)` | `test_detection_filter`"
    )
    assert record.condition == And(
        (
            Or(
                (
                    cmp("Processes.process_name", Op.EQ, "cmd.exe"),
                    cmp("Processes.original_file_name", Op.EQ, "Cmd.Exe"),
                )
            ),
            cmp("Processes.process", Op.WILDCARD, "*/c *"),
        )
    )
    assert record.group_by == ("Processes.dest", "Processes.user")
    assert record.event_hints == (("datamodel", "Endpoint.Processes"),)


def test_in_list():
    assert tree('Processes.process_name IN ("a.exe", b.exe, "*c*")') == Or(
        (
            cmp("Processes.process_name", Op.EQ, "a.exe"),
            cmp("Processes.process_name", Op.EQ, "b.exe"),
            cmp("Processes.process_name", Op.WILDCARD, "*c*"),
        )
    )


def test_in_list_with_stray_commas():
    # security_content quirk: IN (,"*auth *","*req *",) and ("a",, "b")
    assert tree('x IN (,"*auth *",, "b",)') == Or(
        (cmp("x", Op.WILDCARD, "*auth *"), cmp("x", Op.EQ, "b"))
    )


def test_negated_group():
    assert tree("EventCode=1 NOT (Image=*\\\\cmd.exe OR User=SYSTEM)") == And(
        (
            cmp("EventCode", Op.EQ, "1"),
            Not(Or((cmp("Image", Op.WILDCARD, "*\\cmd.exe"), cmp("User", Op.EQ, "SYSTEM")))),
        )
    )


def test_not_equal_is_a_negation():
    assert tree("a!=1") == Not(cmp("a", Op.EQ, "1", "!="))


def test_where_like():
    found = tree('`sysmon` | where like(process, "%\\\\temp\\\\x_y%")')
    assert isinstance(found, And)
    assert found.children[-1] == cmp("process", Op.WILDCARD, "*\\temp\\x?y*", "like", cs=True)


def test_where_like_backslash_escapes_percent_and_underscore():
    assert tree('| where like(lower(p), "%\\\\_x\\\\%%")') == cmp("p", Op.WILDCARD, "*_x%*", "like")


def test_where_like_escapes_a_literal_star():
    assert tree('| where process LIKE "a*b%"') == cmp(
        "process", Op.WILDCARD, "a[*]b*", "like", cs=True
    )


def test_where_match_regex():
    assert tree('| where match(process, "(?i)-enc\\\\s")') == cmp(
        "process", Op.REGEX, "(?i)-enc\\s", "match", cs=True
    )


def test_eval_derived_field():
    found = tree(
        'EventCode=1 | eval cmd_len=len(CommandLine), y="a" | where cmd_len > 100 '
        '| search y=a CommandLine="*x*"'
    )
    assert found == And(
        (
            cmp("EventCode", Op.EQ, "1"),
            cmp("cmd_len", Op.RANGE, ">100", ">", derived=True),
            cmp("y", Op.EQ, "a", derived=True),
            cmp("CommandLine", Op.WILDCARD, "*x*"),
        )
    )


def test_stats_only_search_records_a_reason():
    record = rule(
        "| tstats count from datamodel=Network_Resolution by DNS.src DNS.query "
        "| `drop_dm_object_name(DNS)` | stats count by src"
    )
    assert record.condition is None
    assert record.parse_status == "unsupported"
    assert record.parse_reason.startswith("no filtering condition: tstats without where")
    assert record.event_hints == (("datamodel", "Network_Resolution.DNS"),)


def test_empty_filter_macro_contributes_nothing():
    shipped = rule("EventCode=1 | `quiet_filter`")
    assert shipped.condition == cmp("EventCode", Op.EQ, "1")
    result = load("EventCode=1 | `not_shipped_filter`")
    assert result.rules[0].condition == cmp("EventCode", Op.EQ, "1")
    assert "filter macro not shipped (empty)" in "; ".join(result.notes)


def test_sigma_and_splunk_share_value_and_field():
    sigma = normalise("sigma", Comparison("Image", Op.WILDCARD, "*\\cmd.exe"))
    splunk = normalise("splunk", cmp("Processes.process_name", Op.EQ, "cmd.exe"))
    assert sigma.key == splunk.key
    assert sigma.field == splunk.field == "process.name"


# --- search terms -------------------------------------------------------------------------------


def test_or_binds_tighter_than_implicit_and():
    assert tree("a=1 OR b=2 c=3") == And(
        (Or((cmp("a", Op.EQ, "1"), cmp("b", Op.EQ, "2"))), cmp("c", Op.EQ, "3"))
    )


def test_bare_term_and_exists_and_range():
    assert tree('"mimikatz" f=* n>5') == And(
        (
            cmp(None, Op.MATCH, "mimikatz", "term"),
            cmp("f", Op.EXISTS, ""),
            cmp("n", Op.RANGE, ">5", ">"),
        )
    )


def test_quoted_backslashes_and_question_mark():
    assert tree('p="C:\\\\Windows\\\\*" q=a?b') == And(
        (cmp("p", Op.WILDCARD, "C:\\Windows\\*"), cmp("q", Op.EQ, "a?b"))
    )
    assert tree("q=*a?b*") == cmp("q", Op.WILDCARD, "*a[?]b*")


def test_case_value_is_case_sensitive():
    assert tree("f=CASE(Abc)") == cmp("f", Op.EQ, "Abc", cs=True)


def test_unquoted_value_with_parentheses():
    # security_content quirk: Processes.process=*GetCurrent()*
    assert tree("p=*GetCurrent()* OR p=x") == Or(
        (cmp("p", Op.WILDCARD, "*GetCurrent()*"), cmp("p", Op.EQ, "x"))
    )


def test_time_bounds_are_not_comparisons():
    assert tree("earliest=-24h index=main") == cmp("index", Op.EQ, "main")


def test_spl_comments_are_ignored():
    assert tree("a=1 ```a comment with | a pipe``` b=2") == And(
        (cmp("a", Op.EQ, "1"), cmp("b", Op.EQ, "2"))
    )


def test_subsearch_is_opaque_and_counted():
    result = load("a=1 NOT [| inputlookup allow.csv | fields a]")
    assert result.rules[0].condition == cmp("a", Op.EQ, "1")
    assert "subsearch kept opaque (search)" in "; ".join(result.notes)


def test_inner_join_subsearch_filter_is_anded():
    found = tree("a=1 | join guid [search b=2 | fields guid]")
    assert found == And((cmp("a", Op.EQ, "1"), cmp("b", Op.EQ, "2")))


# --- where -------------------------------------------------------------------------------------


def test_where_functions():
    found = tree(
        '| where isnull(a) and isnotnull(b) AND cidrmatch("10.0.0.0/8", ip) '
        'AND in(c, "x", "y") AND lower(d)="v" AND e=="Q"'
    )
    assert found == And(
        (
            Not(cmp("a", Op.EXISTS, "", "isnull")),
            cmp("b", Op.EXISTS, "", "isnotnull"),
            cmp("ip", Op.CIDR, "10.0.0.0/8", "cidrmatch"),
            Or((cmp("c", Op.EQ, "x", "==", cs=True), cmp("c", Op.EQ, "y", "==", cs=True))),
            cmp("d", Op.EQ, "v"),
            cmp("e", Op.EQ, "Q", "==", cs=True),
        )
    )


def test_where_field_against_field_is_dropped_with_a_note():
    result = load("a=1 | where src != dest")
    assert result.rules[0].condition == cmp("a", Op.EQ, "1")
    assert "where: comparison kg cannot read" in "; ".join(result.notes)


def test_stats_outputs_are_derived():
    found = tree("a=1 | stats count dc(user) as users by host | where users > 5 AND count>2")
    assert found == And(
        (
            cmp("a", Op.EQ, "1"),
            cmp("users", Op.RANGE, ">5", ">", derived=True),
            cmp("count", Op.RANGE, ">2", ">", derived=True),
        )
    )


def test_rex_rename_lookup_outputs_are_derived():
    found = tree(
        'a=1 | rex field=p "(?<ext>\\\\.\\\\w+)$" | rename q as r "s t" as u, Web.* as * '
        "| lookup t k OUTPUT v as w | search ext=.ps1 r=1 u=2 w=true url=x"
    )
    assert isinstance(found, And)
    assert [c.derived for c in found.children] == [False, True, True, True, True, False]


def test_regex_command():
    assert tree('a=1 | regex p!="^x"') == And(
        (cmp("a", Op.EQ, "1"), Not(cmp("p", Op.REGEX, "^x", "regex", cs=True)))
    )


# --- macros -------------------------------------------------------------------------------------


def test_macro_with_arguments_written_with_arity():
    assert tree("`pair(Image, x.exe)`") == cmp("Image", Op.EQ, "x.exe")


def test_unknown_macro_is_a_note_not_a_failure():
    result = load("`nope` a=1")
    assert result.rules[0].condition == cmp("a", Op.EQ, "1")
    assert "unknown macro: nope" in "; ".join(result.notes)


def test_recursive_macro_stops_at_depth_limit():
    expansion = expand("`loop` a=1", macros())
    assert "macro depth limit" in expansion.notes
    assert expansion.text.split() == ["a=1"]


def test_backtick_inside_a_string_is_no_macro():
    assert expand('eval x=replace(p, "`", "")', {}).text == 'eval x=replace(p, "`", "")'


# --- hints and metadata -------------------------------------------------------------------------


def test_event_hints():
    record = rule("`sysmon` EventCode IN (1, 10) NOT EventCode=3")
    assert record.event_hints == (
        ("sourcetype", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"),
        ("source", "XmlWinEventLog:Microsoft-Windows-Sysmon/Operational"),
        ("EventCode", "1"),
        ("EventCode", "10"),
    )


def test_metadata():
    record = rule("a=1", risk_score="81")
    assert (record.vendor, record.title, record.rule_type) == ("splunk", "Test Detection", "TTP")
    assert record.uid == "splunk:5f0a1b2c-0000-4000-8000-000000000001"
    assert record.techniques == ("T1059.003",)
    assert record.tactics == ()
    assert record.data_sources == ("Sysmon EventID 1",)
    assert record.references == ("https://example.org/post", "analytic_story:Test Story")
    assert (record.language, record.licence, record.level) == ("spl", "Apache-2.0", "critical")
    assert record.author == "Test Author, Splunk" and record.date == "2024-05-06"
    assert not record.deprecated


@pytest.mark.parametrize(
    ("kind", "level"), [("Hunting", "low"), ("Anomaly", "medium"), ("TTP", "high")]
)
def test_level_from_type(kind: str, level: str):
    assert rule("a=1", type=kind).level == level


def test_deprecated_by_folder_or_status():
    assert load("a=1", "detections/deprecated/x.yml").rules[0].deprecated
    assert rule("a=1", status="deprecated").deprecated


def test_no_search_and_bad_yaml():
    assert rule("").parse_status == "no_query"
    bad = LOADER.parse(SourceFile("/nowhere/x.yml", "detections/x.yml"), b"a: [", macros())
    assert bad.status == "failed" and "invalid YAML" in bad.reason and bad.line
    empty = LOADER.parse(SourceFile("/nowhere/y.yml", "detections/y.yml"), b"a: 1", macros())
    assert empty.status == "failed" and "no id or name" in empty.reason


def test_context_reads_macro_folder(tmp_path: Path):
    folder = tmp_path / "macros"
    folder.mkdir()
    for name, text in MACRO_FILES.items():
        (folder / name).write_text(textwrap.dedent(text))
    (folder / "broken.yml").write_text("definition: [")
    context = LOADER.context(tmp_path)
    assert {"sysmon", "security_content_ctime(1)", "pair(2)"} <= set(context)
    assert "broken" not in context


# --- other stages -------------------------------------------------------------------------------


def test_mstats_without_where_records_a_reason():
    record = rule("| mstats avg(cpu) as cpu by host | where cpu > 90")
    assert record.condition == cmp("cpu", Op.RANGE, ">90", ">", derived=True)
    found = rule("| mstats avg(cpu) as c by host")
    assert found.parse_status == "unsupported"
    assert found.parse_reason == "no filtering condition: mstats without where by host"


def test_datamodel_and_from_commands_give_hints():
    record = rule("| datamodel Endpoint Processes search | search Processes.process_name=x.exe")
    assert record.event_hints == (("datamodel", "Endpoint.Processes"),)
    assert record.condition == cmp("Processes.process_name", Op.EQ, "x.exe")
    record = rule("| from datamodel Risk.All_Risk | search risk_object=a")
    assert record.event_hints == (("datamodel", "Risk.All_Risk"),)


def test_inputlookup_rows_are_derived():
    assert tree("| inputlookup users.csv | search user=admin") == cmp(
        "user", Op.EQ, "admin", derived=True
    )


def test_outer_join_is_opaque():
    result = load("a=1 | join type=left guid [search b=2]")
    assert result.rules[0].condition == cmp("a", Op.EQ, "1")
    assert "subsearch kept opaque (outer join)" in "; ".join(result.notes)


def test_context_pickles():
    table = macros()
    assert pickle.loads(pickle.dumps(table)) == table
