"""kg.normalise: how native comparisons become Value keys (the rules in its docstring)."""

from __future__ import annotations

import pytest

from kg.model import Comparison, Op
from kg.normalise import (
    KEYWORD_FIELD,
    canonical_field,
    escape_glob,
    field_table,
    normalise,
    unescape_glob,
    value_key,
    value_node_key,
)


def check(field, op, value, vendor="sigma", **kw):
    return normalise(vendor, Comparison(field, op, value, **kw))


# --- rule 1: fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("native", "canonical"),
    [
        ("Image", "process.executable"),
        ("ParentImage", "process.parent.executable"),
        ("CommandLine", "process.command_line"),
        ("OriginalFileName", "process.pe.original_file_name"),
        ("TargetFilename", "file.path"),
        ("TargetObject", "registry.path"),
        ("DestinationPort", "destination.port"),
        ("ImageLoaded", "dll.path"),
        ("EventID", "event.code"),
        ("GrantedAccess", "winlog.event_data.GrantedAccess"),
    ],
)
def test_sigma_field_table(native, canonical):
    assert canonical_field("sigma", native) == (canonical, True)


def test_field_names_match_case_folded():
    assert canonical_field("sigma", "commandline") == ("process.command_line", True)


def test_unknown_field_stays_itself_unmapped():
    assert canonical_field("sigma", "NoSuchField") == ("NoSuchField", False)


def test_elastic_fields_are_canonical_already():
    assert canonical_field("elastic", "process.name") == ("process.name", True)


def test_fieldless_comparison_is_keyword():
    assert canonical_field("sigma", None) == (KEYWORD_FIELD, True)
    assert check(None, Op.MATCH, "Mimikatz").key == "keyword match mimikatz"


def test_field_table_is_read_without_header_and_comments():
    table = field_table("sigma")
    assert "native" not in table and not any(key.startswith("#") for key in table)


# --- rules 2 and 3: operators, path to name -----------------------------------------------


def test_wildcard_without_wildcard_is_eq():
    c = check("CommandLine", Op.WILDCARD, "whoami /all")
    assert (c.op, c.value) == (Op.EQ, "whoami /all")


def test_escaped_wildcards_are_literal_after_folding_to_eq():
    c = check("CommandLine", Op.WILDCARD, "what[?] [*]")
    assert (c.op, c.value) == (Op.EQ, "what? *")


@pytest.mark.parametrize("tail", ["*\\python.exe", "*/python.exe"])
def test_path_glob_collapses_to_name(tail):
    c = check("Image", Op.WILDCARD, tail)
    assert (c.field, c.op, c.value) == ("process.name", Op.EQ, "python.exe")
    assert c.native_field == "Image"


def test_path_glob_with_folder_stays_on_path():
    c = check("Image", Op.WILDCARD, "*\\Temp\\python.exe")
    assert (c.field, c.op) == ("process.executable", Op.WILDCARD)


def test_name_glob_with_wildcard_in_tail_stays_on_path():
    assert check("Image", Op.WILDCARD, "*\\py*.exe").field == "process.executable"


def test_library_path_collapses_to_dll_name():
    c = check("ImageLoaded", Op.WILDCARD, "*\\dbghelp.dll")
    assert (c.field, c.value) == ("dll.name", "dbghelp.dll")


def test_path_field_without_companion_keeps_glob():
    c = check("CommandLine", Op.WILDCARD, "*\\python.exe")
    assert (c.field, c.op) == ("process.command_line", Op.WILDCARD)


def test_vendors_meet_on_one_value_node():
    sigma = check("Image", Op.WILDCARD, "*\\Python.exe")
    elastic = check("process.name", Op.EQ, "python.exe", vendor="elastic")
    assert sigma.key == elastic.key == "process.name eq python.exe"


# --- rule 4: value keys --------------------------------------------------------------------


def test_value_key_folds_case_and_star_runs():
    assert value_key(Op.WILDCARD, "**Invoke-*Mimikatz***") == "*invoke-*mimikatz*"
    assert value_key(Op.EQ, "CMD.EXE") == "cmd.exe"


def test_case_sensitive_value_keeps_case_only_with_upper_case():
    assert value_key(Op.EQ, "PowerShell", case_sensitive=True) == "PowerShell"
    assert value_key(Op.EQ, "powershell", case_sensitive=True) == "powershell"
    lower = check("CommandLine", Op.EQ, "powershell", case_sensitive=True)
    insensitive = check("CommandLine", Op.EQ, "powershell")
    assert lower.key == insensitive.key


def test_regex_is_kept_as_written():
    assert value_key(Op.REGEX, "(?i)Foo.*BAR") == "(?i)Foo.*BAR"


def test_contains_and_star_glob_are_one_key():
    assert (
        check("CommandLine", Op.WILDCARD, "*-EncodedCommand*").key
        == check("CommandLine", Op.WILDCARD, "*-encodedcommand*").key
    )


# --- rule 5 and glob escapes ---------------------------------------------------------------


def test_node_key_format():
    assert value_node_key("process.name", Op.EQ, "cmd.exe") == "process.name eq cmd.exe"
    assert check("DestinationPort", Op.RANGE, ">=1024").key == "destination.port range >=1024"


def test_escape_and_unescape_glob_round_trip():
    literal = "C:\\what?\\*.txt"
    glob = escape_glob(literal)
    assert glob == "C:\\what[?]\\[*].txt"
    assert unescape_glob(glob) == literal


def test_check_keeps_native_detail():
    c = check("CommandLine", Op.WILDCARD, "*a*", native_op="contains", modifiers=("contains",))
    assert (c.native_field, c.native_op, c.modifiers, c.mapped) == (
        "CommandLine",
        "contains",
        ("contains",),
        True,
    )
    assert check("CommandLine", Op.EQ, "x").native_op == "eq"
