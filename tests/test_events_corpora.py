"""Events of real rules and analytics from the shared corpora, through the vendor loaders."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from kg import events as em
from kg.loaders.events import load_catalogue
from kg.model import LogSourceRef, RuleRecord, SourceFile
from kg.settings import corpora_dir

pytestmark = pytest.mark.corpora

CORPORA = corpora_dir()
if not (CORPORA / "events").is_dir():
    pytest.skip(f"shared corpora not found at {CORPORA} (set KG_CORPORA)", allow_module_level=True)


@pytest.fixture(scope="module")
def catalogue():
    records, report = load_catalogue(CORPORA / "events")
    return records, report


def load_rule(vendor: str, relpath: str) -> RuleRecord:
    module = __import__(f"kg.loaders.{vendor}", fromlist=["LOADER"])
    root = CORPORA / vendor
    path = root / relpath
    result = module.LOADER.parse(
        SourceFile(str(path), relpath), path.read_bytes(), module.LOADER.context(root)
    )
    assert result.status == "loaded", result.reason
    return result.rules[0]


def keys_of(rule: RuleRecord, records) -> list[str]:
    found, reason = em.rule_events(rule, records)
    assert found, reason
    return [key for key, _ in found]


def test_catalogue_from_ossem_is_complete_and_readable(catalogue):
    records, report = catalogue
    by_key = {ev.key: ev for ev in records}
    sysmon = {ev.event_id for ev in records if ev.provider == "Microsoft-Windows-Sysmon"}
    assert sysmon == {str(i) for i in range(1, 30)} | {"255"}
    assert "CommandLine" in by_key["Microsoft-Windows-Sysmon:1"].fields
    assert "CommandLine" in by_key["Microsoft-Windows-Security-Auditing:4688"].fields
    assert "ScriptBlockText" in by_key["Microsoft-Windows-PowerShell:4104"].fields
    assert by_key["Microsoft-Windows-Security-Auditing:4624"].description
    assert report.count("failed") == 0
    for ev in records:
        assert not re.match(r"^Event \d+ - task_\d+$", ev.title), ev.key


def test_every_table_event_is_in_the_ossem_catalogue(catalogue):
    keys = {ev.key for ev in catalogue[0]}
    for vendor in ("sigma", "elastic", "splunk", "attack"):
        assert em.table_events(vendor) <= keys, vendor


def test_sigma_windows_process_creation_rule(catalogue):
    rule = load_rule(
        "sigma",
        "rules/windows/process_creation/proc_creation_win_python_inline_command_execution.yml",
    )
    assert keys_of(rule, catalogue[0]) == [
        "Microsoft-Windows-Sysmon:1",
        "Microsoft-Windows-Security-Auditing:4688",
    ]


def test_sigma_applocker_rule_event_ids(catalogue):
    rule = load_rule(
        "sigma",
        "rules/windows/builtin/applocker/win_applocker_application_was_prevented_from_running.yml",
    )
    assert sorted(keys_of(rule, catalogue[0])) == [
        "Microsoft-Windows-AppLocker:8004",
        "Microsoft-Windows-AppLocker:8007",
        "Microsoft-Windows-AppLocker:8022",
        "Microsoft-Windows-AppLocker:8025",
    ]


def test_sigma_system_rule_of_another_provider_than_the_service_manager(catalogue):
    rule = load_rule(
        "sigma",
        "rules/windows/builtin/system/microsoft_windows_kerberos_key_distribution_center/"
        "win_system_kdcsvc_cert_use_no_strong_mapping.yml",
    )
    assert sorted(keys_of(rule, catalogue[0])) == [
        "Microsoft-Windows-Kerberos-Key-Distribution-Center:39",
        "Microsoft-Windows-Kerberos-Key-Distribution-Center:41",
    ]


def test_sigma_codeintegrity_revoked_image_rule(catalogue):
    rule = load_rule(
        "sigma",
        "rules/windows/builtin/code_integrity/win_codeintegrity_revoked_image_loaded.yml",
    )
    assert sorted(keys_of(rule, catalogue[0])) == [
        "Microsoft-Windows-CodeIntegrity:3032",
        "Microsoft-Windows-CodeIntegrity:3035",
    ]


def test_elastic_macos_file_rule(catalogue):
    # a sequence: a discovery command's exec, then its output written to a file
    rule = load_rule(
        "elastic", "rules/macos/collection_discovery_output_written_to_suspicious_file.toml"
    )
    keys = keys_of(rule, catalogue[0])
    assert "Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_EXEC" in keys
    assert "Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_WRITE" in keys
    assert all(key.startswith("Apple Endpoint Security:") for key in keys)


def test_elastic_linux_process_rule(catalogue):
    rule = load_rule("elastic", "rules/linux/command_and_control_curl_socks_proxy_detected.toml")
    assert keys_of(rule, catalogue[0]) == ["Sysmon for Linux:1", "auditd:SYSCALL:execve"]


def test_splunk_detection_with_two_windows_data_sources(catalogue):
    rule = load_rule("splunk", "detections/endpoint/office_product_spawning_bitsadmin.yml")
    # its third data source, CrowdStrike ProcessRollup2, is EDR telemetry outside the catalogue
    assert keys_of(rule, catalogue[0]) == [
        "Microsoft-Windows-Sysmon:1",
        "Microsoft-Windows-Security-Auditing:4688",
    ]


def test_most_host_analytics_log_sources_resolve(catalogue):
    with gzip.open(CORPORA / "attack/enterprise-attack.json.gz") as handle:
        bundle = json.load(handle)
    refs = [
        LogSourceRef(r.get("data_component_ref", ""), r["name"], r.get("channel", ""))
        for obj in bundle["objects"]
        if obj["type"] == "x-mitre-analytic"
        for r in obj.get("x_mitre_log_source_references", ())
        if r["name"] == "WinEventLog:Sysmon"
    ]
    resolved = [ref for ref in refs if em.analytic_events(ref, catalogue[0])]
    unresolved = {ref.channel for ref in refs} - {ref.channel for ref in resolved}
    assert all("EventCode" not in channel for channel in unresolved), unresolved
    assert len(resolved) > len(refs) * 0.9
