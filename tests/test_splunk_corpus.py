"""The Splunk loader over the shared security_content snapshot (2024-10)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kg.conditions import comparisons
from kg.loaders.splunk import LOADER
from kg.model import FileResult
from kg.settings import corpora_dir

# Detections whose search filters on nothing kg can name, by cause (pinned at the snapshot).
NO_CONDITION = {
    # a whole data model aggregated, then a lookup macro or eventstats decides
    "detections/deprecated/prohibited_software_on_endpoint.yml": "tstats without where",
    "detections/endpoint/unusually_long_command_line.yml": "tstats without where",
    # from datamodel Web.Web, rex, then an inner join whose tstats has no where either
    "detections/web/log4shell_jndi_payload_injection_with_outbound_connection.yml": "stats",
}


@pytest.fixture(scope="module")
def results() -> list[FileResult]:
    root = corpora_dir() / "splunk"
    if not (root / "detections").is_dir():
        pytest.skip(f"no Splunk corpus at {root} (set KG_CORPORA)")
    context = LOADER.context(root)
    return [LOADER.parse(f, Path(f.path).read_bytes(), context) for f in LOADER.discover(root)]


@pytest.mark.corpora
def test_every_detection_loads(results: list[FileResult]):
    assert len(results) == 1711
    assert [r.relpath for r in results if r.status != "loaded"] == []
    assert sum(1 for r in results if r.rules[0].deprecated) == 98


@pytest.mark.corpora
def test_conditions_or_reasons(results: list[FileResult]):
    rules = [rule for r in results for rule in r.rules]
    with_comparison = [
        r for r in rules if r.condition is not None and next(comparisons(r.condition), None)
    ]
    assert len(with_comparison) >= 0.97 * len(rules)
    rest = {r.path: r for r in rules if r not in with_comparison}
    assert sorted(rest) == sorted(NO_CONDITION)
    for path, cause in NO_CONDITION.items():
        assert rest[path].parse_status == "unsupported"
        assert cause in rest[path].parse_reason


@pytest.mark.corpora
def test_stages_parsed_and_hints(results: list[FileResult]):
    rules = [rule for r in results for rule in r.rules]
    assert all(r.parse_status in ("ok", "unsupported") for r in rules)
    unparsed = [r.relpath for r in results if "stage not parsed" in " ".join(r.notes)]
    assert unparsed == []
    hints = Counter(kind for r in rules for kind, _ in r.event_hints)
    assert hints["datamodel"] >= 900
    assert hints["EventCode"] >= 300
    techniques = {t for r in rules for t in r.techniques}
    assert len(techniques) == 305
