"""The ATT&CK bundle loader: exact records on a hand-made bundle, counts on the real one."""

from __future__ import annotations

import copy
import gzip
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kg.errors import SourceError
from kg.loaders.attack import load_bundle
from kg.model import (
    AnalyticRecord,
    DataComponentRecord,
    DetectionStrategyRecord,
    LogSourceRef,
    TacticRecord,
    TechniqueRecord,
)
from kg.settings import corpora_dir

FIXTURE = Path(__file__).parent / "fixtures" / "attack_mini.json"
ENT = "enterprise-attack"
URL = "https://attack.mitre.org"


def _stix(kind: str, n: int) -> str:
    return f"{kind}--00000000-0000-4000-8000-{n:012d}"


@pytest.fixture(scope="module")
def mini():
    return load_bundle(FIXTURE, version="18.1")


def _write(tmp_path: Path, bundle: dict) -> Path:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    return path


def _fixture_bundle() -> dict:
    return copy.deepcopy(json.loads(FIXTURE.read_text(encoding="utf-8")))


def test_tactics_exact(mini):
    # TA0005's first external reference is a citation: ids are found by source name
    assert mini.tactics == (
        TacticRecord(
            "TA0002",
            "execution",
            "Execution",
            _stix("x-mitre-tactic", 1),
            ENT,
            f"{URL}/tactics/TA0002",
        ),
        TacticRecord(
            "TA0005",
            "defense-evasion",
            "Defense Evasion",
            _stix("x-mitre-tactic", 2),
            ENT,
            f"{URL}/tactics/TA0005",
        ),
    )


def test_techniques_exact(mini):
    ap = "attack-pattern"
    assert mini.techniques == (
        TechniqueRecord(
            "T1027",
            "Obfuscated Files or Information",
            _stix(ap, 13),
            ENT,
            ("defense-evasion",),
            ("Windows",),
            "",
            f"{URL}/techniques/T1027",
        ),
        TechniqueRecord(
            "T1059",
            "Command and Scripting Interpreter",
            _stix(ap, 11),
            ENT,
            ("execution",),
            ("Windows", "Linux", "macOS"),
            "",
            f"{URL}/techniques/T1059",
        ),
        TechniqueRecord(
            "T1059.006",
            "Python",
            _stix(ap, 12),
            ENT,
            ("execution",),
            ("Windows", "Linux"),
            "T1059",
            f"{URL}/techniques/T1059/006",
        ),
        TechniqueRecord(
            "T1064",
            "Scripting",
            _stix(ap, 15),
            ENT,
            ("defense-evasion", "execution"),
            ("Windows", "macOS"),
            "",
            f"{URL}/techniques/T1064",
            deprecated=True,
        ),
        TechniqueRecord(
            "T1086",
            "PowerShell (old)",
            _stix(ap, 14),
            ENT,
            ("execution",),
            (),
            "",
            f"{URL}/techniques/T1086",
            revoked=True,
        ),
    )


def test_subtechnique_has_parent_and_foreign_kill_chain_ignored(mini):
    python = next(t for t in mini.techniques if t.id == "T1059.006")
    assert python.is_subtechnique
    assert python.tactics == ("execution",)  # the "lockheed" phase is not an ATT&CK tactic


def test_detection_records_exact(mini):
    assert mini.data_components == (
        DataComponentRecord(
            "DC0032", "Process Creation", _stix("x-mitre-data-component", 21), data_source="Process"
        ),
    )
    assert mini.detection_strategies == (
        DetectionStrategyRecord(
            "DET0001",
            "Detect Python execution",
            _stix("x-mitre-detection-strategy", 51),
            techniques=("T1059.006",),
            analytics=("AN0001",),
        ),
    )
    assert mini.analytics == (
        AnalyticRecord(
            "AN0001",
            "Analytic 0001",
            _stix("x-mitre-analytic", 41),
            platforms=("Windows",),
            description="Python interpreter started by an Office process.",
            log_sources=(LogSourceRef("DC0032", "WinEventLog:Sysmon", "EventCode=1"),),
        ),
    )


def test_broken_objects_become_error_lines(mini):
    assert len(mini.errors) == 2
    assert mini.errors[0] == "object #15: 'id' is missing"
    broken = _stix("attack-pattern", 16)
    assert mini.errors[1].startswith(f"{broken}: 'kill_chain_phases' is not a list of objects")
    assert "(stix2: " in mini.errors[1]  # stix2 explains what STIX expects
    assert "T9999" not in {t.id for t in mini.techniques}


def test_version_and_domain_from_pin(mini):
    assert (mini.version, mini.domain) == ("18.1", ENT)


def test_collection_version_wins_over_pin(tmp_path):
    bundle = _fixture_bundle()
    bundle["objects"].append(
        {
            "type": "x-mitre-collection",
            "id": _stix("x-mitre-collection", 99),
            "name": "Enterprise ATT&CK",
            "x_mitre_version": "17.0",
        }
    )
    assert load_bundle(_write(tmp_path, bundle), version="18.1").version == "17.0"


def test_without_collection_or_pin_spec_version_stands_in(tmp_path):
    bundle = _fixture_bundle()
    bundle["objects"][0]["x_mitre_attack_spec_version"] = "3.10.0"
    assert load_bundle(_write(tmp_path, bundle), version=None).version == "3.10.0"


def test_gzip_bundle_reads_the_same(tmp_path, mini):
    path = tmp_path / "attack_mini.json.gz"
    path.write_bytes(gzip.compress(FIXTURE.read_bytes()))
    assert load_bundle(path, version="18.1") == mini


def test_legacy_mobile_source_name_and_kill_chain(tmp_path):
    # pre-2.1 mobile objects name ATT&CK "mitre-mobile-attack", and so does their kill chain
    technique = {
        "type": "attack-pattern",
        "id": _stix("attack-pattern", 1),
        "name": "Old Mobile",
        "x_mitre_domains": ["mobile-attack"],
        "revoked": True,
        "external_references": [
            {
                "source_name": "mitre-mobile-attack",
                "external_id": "T1425",
                "url": f"{URL}/techniques/T1425",
            }
        ],
        "kill_chain_phases": [
            {"kill_chain_name": "mitre-mobile-attack", "phase_name": "initial-access"}
        ],
    }
    records = load_bundle(_write(tmp_path, {"type": "bundle", "objects": [technique]}), "18.1")
    assert records.domain == "mobile-attack"
    assert [(t.id, t.tactics, t.revoked) for t in records.techniques] == [
        ("T1425", ("initial-access",), True)
    ]


def test_dangling_analytic_reference_is_reported(tmp_path):
    bundle = _fixture_bundle()
    strategy = next(o for o in bundle["objects"] if o["type"] == "x-mitre-detection-strategy")
    strategy["x_mitre_analytic_refs"].append(_stix("x-mitre-analytic", 77))
    records = load_bundle(_write(tmp_path, bundle), "18.1")
    assert f"DET0001: reference to unknown x-mitre-analytic {_stix('x-mitre-analytic', 77)}" in (
        records.errors
    )
    assert records.detection_strategies[0].analytics == ("AN0001",)


def test_duplicate_attack_id_keeps_the_first(tmp_path):
    bundle = _fixture_bundle()
    twin = copy.deepcopy(bundle["objects"][2])  # T1059
    twin["id"] = _stix("attack-pattern", 88)
    bundle["objects"].append(twin)
    records = load_bundle(_write(tmp_path, bundle), "18.1")
    first, twin_id = _stix("attack-pattern", 11), _stix("attack-pattern", 88)
    assert f"{twin_id}: T1059 is also {first}; skipped" in records.errors
    assert [t.stix_id for t in records.techniques if t.id == "T1059"] == [first]


def test_not_json_names_the_file(tmp_path):
    path = tmp_path / "enterprise-attack.json"
    path.write_text("<html>rate limited</html>", encoding="utf-8")
    with pytest.raises(SourceError, match="enterprise-attack.json.*not JSON") as info:
        load_bundle(path, "18.1")
    assert info.value.path == str(path)


def test_missing_file_names_the_file(tmp_path):
    path = tmp_path / "nowhere.json.gz"
    with pytest.raises(SourceError, match="nowhere.json.gz: no such file"):
        load_bundle(path, "18.1")


def test_cut_gzip_names_the_file(tmp_path):
    path = tmp_path / "enterprise-attack.json.gz"
    path.write_bytes(gzip.compress(FIXTURE.read_bytes())[:200])
    with pytest.raises(SourceError, match="enterprise-attack.json.gz: cannot read"):
        load_bundle(path, "18.1")


def test_json_that_is_not_a_bundle(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(SourceError, match="list.json: not a STIX bundle"):
        load_bundle(path, "18.1")


def test_non_object_entry_is_an_error_line(tmp_path):
    bundle = _fixture_bundle()
    bundle["objects"].insert(0, "not an object")
    records = load_bundle(_write(tmp_path, bundle), "18.1")
    assert records.errors[0] == "object #0: not a JSON object"
    assert len(records.techniques) == 5


# --- the real bundles, checked against mitreattack-python ----------------------


@pytest.mark.corpora
@pytest.mark.parametrize("domain", ["enterprise", "mobile", "ics"])
def test_counts_equal_mitreattack_python(domain, tmp_path):
    bundle = corpora_dir() / "attack" / f"{domain}-attack.json.gz"
    if not bundle.is_file():
        pytest.skip(f"no ATT&CK bundle at {bundle} (set KG_CORPORA to the shared corpora)")
    from mitreattack.stix20 import MitreAttackData

    plain = tmp_path / f"{domain}-attack.json"
    with gzip.open(bundle, "rb") as src, plain.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    library = MitreAttackData(str(plain))
    records = load_bundle(bundle, version="18.1")

    def active(items):
        return [i for i in items if not i.revoked and not i.deprecated]

    techniques = records.techniques
    subtechniques = [t for t in techniques if t.is_subtechnique]
    ours = {
        "techniques": len(techniques),
        "active techniques": len(active(techniques)),
        "subtechniques": len(subtechniques),
        "active subtechniques": len(active(subtechniques)),
        "tactics": len(records.tactics),
        "data components": len(records.data_components),
        "active data components": len(active(records.data_components)),
        "detection strategies": len(records.detection_strategies),
        "analytics": len(records.analytics),
    }
    theirs = {
        "techniques": len(library.get_techniques()),
        "active techniques": len(library.get_techniques(remove_revoked_deprecated=True)),
        "subtechniques": len(library.get_subtechniques()),
        "active subtechniques": len(library.get_subtechniques(remove_revoked_deprecated=True)),
        "tactics": len(library.get_tactics()),
        "data components": len(library.get_datacomponents()),
        "active data components": len(library.get_datacomponents(remove_revoked_deprecated=True)),
        "detection strategies": len(library.get_detectionstrategies()),
        "analytics": len(library.get_analytics()),
    }
    assert ours == theirs
    assert records.errors == ()
    assert records.domain == f"{domain}-attack"
    tactic_names = {t.shortname for t in records.tactics}
    assert all(set(t.tactics) <= tactic_names for t in techniques)


@pytest.mark.corpora
def test_enterprise_powershell_and_its_detection():
    bundle = corpora_dir() / "attack" / "enterprise-attack.json.gz"
    if not bundle.is_file():
        pytest.skip(f"no ATT&CK bundle at {bundle} (set KG_CORPORA to the shared corpora)")
    records = load_bundle(bundle, version="18.1")
    powershell = next(t for t in records.techniques if t.id == "T1059.001")
    assert (powershell.name, powershell.parent_id) == ("PowerShell", "T1059")
    strategies = [d for d in records.detection_strategies if "T1059.001" in d.techniques]
    assert len(strategies) == 1
    analytics = {a.id: a for a in records.analytics}
    assert strategies[0].analytics
    assert all(a in analytics for a in strategies[0].analytics)


def _mutations():
    bundle = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for index, obj in enumerate(bundle["objects"]):
        for key in obj:
            for bad in (7, {"k": "v"}, None):
                yield index, key, bad


def test_wrong_types_anywhere_change_nothing_silently(tmp_path, mini):
    """Any field set to a wrong type either leaves the records as they were or is reported."""
    path = tmp_path / "bundle.json"
    clean = replace(mini, errors=())
    for index, key, bad in _mutations():
        bundle = _fixture_bundle()
        bundle["objects"][index][key] = bad
        path.write_text(json.dumps(bundle), encoding="utf-8")
        records = load_bundle(path, "18.1")  # never raises
        changed = replace(records, errors=()) != clean
        assert not changed or len(records.errors) > len(mini.errors), (index, key, bad)
