"""The Elastic loader over the real detection-rules corpus (KG_CORPORA)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kg.loaders.elastic import LOADER
from kg.settings import corpora_dir

ROOT = corpora_dir() / "elastic"

pytestmark = [
    pytest.mark.corpora,
    pytest.mark.skipif(not (ROOT / "rules").is_dir(), reason=f"no Elastic corpus at {ROOT}"),
]

#: Files whose query does not parse, as (path, line, reason).  None at the pinned
#: commit; a new failure must be looked at, then fixed or listed here.
KNOWN_FAILURES: tuple[tuple[str, int | None, str], ...] = ()


@pytest.fixture(scope="module")
def results():
    files = LOADER.discover(ROOT)
    return [LOADER.parse(f, Path(f.path).read_bytes(), None) for f in files]


def test_every_toml_file_is_accounted_for(results):
    assert len(results) == len(list(ROOT.glob("rules*/**/*.toml")))
    assert all(r.status in ("loaded", "failed") for r in results)


def test_rules_with_a_query_parse_into_condition_trees(results):
    failures = tuple((r.relpath, r.line, r.reason) for r in results if r.status == "failed")
    rules = [rule for r in results for rule in r.rules]
    with_query = [rule for rule in rules if rule.query.strip()]
    parsed = [rule for rule in with_query if rule.parse_status == "ok"]
    assert len(parsed) >= 0.99 * (len(with_query) + len(failures))
    assert failures == KNOWN_FAILURES


def test_machine_learning_rules_are_no_query(results):
    rules = [rule for r in results for rule in r.rules]
    kinds = Counter(rule.parse_status for rule in rules if rule.rule_type == "machine_learning")
    assert set(kinds) == {"no_query"}


def test_deprecated_folder_rules_are_flagged(results):
    rules = [rule for r in results for rule in r.rules]
    in_folder = [rule for rule in rules if rule.path.startswith("rules/_deprecated/")]
    assert in_folder and all(rule.deprecated for rule in in_folder)
