"""The event catalogue and the rule → event mapping tables, on small inline fixtures."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from kg import events as em
from kg.loaders.events import load_catalogue, provider_specs
from kg.model import And, Comparison, LogSourceRef, Not, Op, RuleRecord

GENERIC_TITLE = re.compile(r"^Event \d+ - task_\d+$")


@pytest.fixture(scope="module")
def authored():
    records, report = load_catalogue(None)
    return records, report


@pytest.fixture(scope="module")
def keys(authored):
    return {ev.key for ev in authored[0]}


def eq(field: str, value: str) -> Comparison:
    return Comparison(field, Op.EQ, value)


def rule(vendor: str, **kw) -> RuleRecord:
    return RuleRecord(vendor=vendor, id="r1", title="t", path="p", **kw)


# --- catalogue ----------------------------------------------------------------------------------


def test_authored_catalogue_loads_without_ossem(authored):
    records, report = authored
    assert report.notes == {"OSSEM-DD absent: authored events only": 1}
    assert {f.status for f in report.files} == {"loaded"}
    by_key = {ev.key: ev for ev in records}
    assert by_key["Microsoft-Windows-Sysmon:1"].title == "Process creation"
    assert by_key["Service Control Manager:7045"].fields[:2] == ("ServiceName", "ImagePath")
    assert len(by_key) == len(records)


def test_sysmon_for_linux_is_a_provider_of_its_own(keys):
    assert "Sysmon for Linux:1" in keys and "Microsoft-Windows-Sysmon:1" in keys


def test_esf_notify_and_auth_are_distinct_events(authored):
    by_key = {ev.key: ev for ev in authored[0]}
    notify = by_key["Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_EXEC"]
    auth = by_key["Apple Endpoint Security:ES_EVENT_TYPE_AUTH_EXEC"]
    assert (notify.title, auth.title) == ("Process execution (notify)", "Process execution (auth)")
    assert "Apple Endpoint Security:ES_EVENT_TYPE_AUTH_FORK" not in by_key  # Apple has none
    assert notify.platform == "macos"


def test_every_event_has_a_readable_title(authored):
    for ev in authored[0]:
        assert ev.title and not GENERIC_TITLE.match(ev.title), ev.key


def _ossem_tree(root: Path) -> Path:
    folder = root / "ossem-dd/windows/etw-providers/Microsoft-Windows-AppLocker/events"
    folder.mkdir(parents=True)
    (folder / "event-8004.yml").write_text(
        textwrap.dedent("""\
        name: Event 8004 - task_0
        description:
        platform: windows
        log_source: Microsoft-Windows-AppLocker
        event_id: '8004'
        event_fields:
        - name: PolicyName
          standard_name: TBD
        - name: FullFilePath
          standard_name: TBD
        """)
    )
    (folder / "event-8100.yml").write_text(
        "name: Event 8100 - task_0\nevent_id: '8100'\nevent_fields: []\n"
    )
    (folder / "event-8101.yml").write_text("name: [unclosed\n")
    return root / "ossem-dd"


def test_ossem_events_get_fields_authored_titles_and_generic_ones_are_left_out(tmp_path):
    records, report = load_catalogue(_ossem_tree(tmp_path))
    by_key = {ev.key: ev for ev in records}
    applocker = by_key["Microsoft-Windows-AppLocker:8004"]
    assert applocker.title == "EXE or DLL was prevented from running"
    assert applocker.fields == ("PolicyName", "FullFilePath")
    assert "Microsoft-Windows-AppLocker:8100" not in by_key
    assert report.notes["events without a readable title, left out"] >= 1
    failed = [f for f in report.files if f.status == "failed"]
    assert [f.relpath for f in failed] == [
        "windows/etw-providers/Microsoft-Windows-AppLocker/events/event-8101.yml"
    ]
    assert "YAML error" in failed[0].reason


def test_every_provider_has_a_platform():
    for spec in provider_specs().values():
        assert spec.platform in {"windows", "linux", "macos"}, spec.name


# --- tables -------------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", ["sigma", "elastic", "splunk", "attack"])
def test_every_event_a_table_names_is_in_the_authored_catalogue(vendor, authored):
    titles = {ev.key: ev.title for ev in authored[0]}
    for key in em.table_events(vendor):
        assert key in titles, f"{vendor} table names {key}, absent from the catalogue"
        assert not GENERIC_TITLE.match(titles[key])


@pytest.mark.parametrize("vendor", ["sigma", "splunk", "attack"])
def test_every_provider_a_table_names_is_a_catalogue_provider(vendor):
    providers = set(provider_specs())
    conf = em.table(vendor)
    specs = []
    if vendor == "sigma":
        specs = [s for product in conf["services"].values() for s in product.values()]
    elif vendor == "splunk":
        specs = conf["patterns"]
    else:
        specs = [s for s in conf["names"].values() if "provider" in s]
    for spec in specs:
        assert spec["provider"] in providers, spec
        for provider in (spec.get("ids") or {}).values():
            assert provider in providers, spec


# --- Sigma --------------------------------------------------------------------------------------


def test_sigma_windows_process_creation_is_sysmon_1_and_security_4688(keys):
    r = rule("sigma", logsource=(("product", "windows"), ("category", "process_creation")))
    found, reason = em.rule_events(r, keys)
    assert [k for k, _ in found] == [
        "Microsoft-Windows-Sysmon:1",
        "Microsoft-Windows-Security-Auditing:4688",
    ]
    assert reason == "" and found[0][1] == "sigma logsource windows/process_creation"


def test_sigma_service_event_ids_select_events_and_log_cleared_is_eventlog(keys):
    cond = And((eq("EventID", "4698"), Not(eq("EventID", "4699"))))
    r = rule(
        "sigma",
        logsource=(("product", "windows"), ("service", "security")),
        condition=cond,
        event_hints=(("EventID", "1102"),),
    )
    found, _ = em.rule_events(r, keys)
    assert {k for k, _ in found} == {
        "Microsoft-Windows-Eventlog:1102",
        "Microsoft-Windows-Security-Auditing:4698",
    }


def test_sigma_auditd_syscall_and_record_types(keys):
    cond = And((eq("type", "SYSCALL"), eq("syscall", "connect"), eq("type", "PATH")))
    r = rule("sigma", logsource=(("product", "linux"), ("service", "auditd")), condition=cond)
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["auditd:SYSCALL:connect", "auditd:PATH"]


def test_sigma_cloud_logsource_gives_a_reason(keys):
    r = rule("sigma", logsource=(("product", "aws"), ("service", "cloudtrail")))
    assert em.rule_events(r, keys) == ([], "logsource not mapped: aws/cloudtrail")


def test_sigma_service_without_event_id_and_no_default(keys):
    r = rule("sigma", logsource=(("product", "windows"), ("service", "applocker")))
    found, reason = em.rule_events(r, keys)
    assert found == [] and reason == "windows/applocker rule names no EventID"


def test_sigma_system_ids_are_filed_under_the_provider_the_rules_name(keys):
    # the KDC rule reads ids 16 and 27; 16 is shared by three System providers, so only 27 maps
    r = rule(
        "sigma",
        logsource=(("product", "windows"), ("service", "system")),
        condition=And((eq("EventID", "16"), eq("EventID", "27"))),
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Microsoft-Windows-Kerberos-Key-Distribution-Center:27"]


def test_sigma_application_log_ids_select_their_providers(keys):
    cond = And((eq("EventID", "1000"), eq("EventID", "325"), eq("EventID", "33205")))
    r = rule(
        "sigma", logsource=(("product", "windows"), ("service", "application")), condition=cond
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Application Error:1000", "ESENT:325", "MSSQLSERVER:33205"]


def test_sigma_linux_text_log_services_read_the_programs_messages(keys):
    for service in ("sshd", "auth", "sudo", "cron", "syslog"):
        r = rule("sigma", logsource=(("product", "linux"), ("service", service)))
        found, _ = em.rule_events(r, keys)
        assert [k for k, _ in found] == [f"Linux syslog:{service}"]


# --- Elastic ------------------------------------------------------------------------------------


def test_elastic_macos_file_modification_is_esf_write(keys):
    r = rule(
        "elastic",
        event_hints=(("event.category", "file"), ("event.action", "modification"), ("os", "macos")),
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_WRITE"]


def test_elastic_os_and_category_from_index_patterns(keys):
    r = rule("elastic", data_sources=("auditbeat-*", "logs-cloud_defend.process*"))
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Sysmon for Linux:1", "auditd:SYSCALL:execve"]


def test_elastic_script_block_field_wins_over_process_category(keys):
    cond = Comparison("powershell.file.script_block_text", Op.MATCH, "Invoke-Mimikatz")
    r = rule(
        "elastic",
        event_hints=(("event.category", "process"), ("host.os.type", "windows")),
        condition=cond,
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Microsoft-Windows-PowerShell:4104"]


def test_elastic_event_code_selects_security_event(keys):
    r = rule(
        "elastic",
        event_hints=(("event.category", "iam"), ("os", "windows")),
        condition=eq("event.code", "4720"),
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Microsoft-Windows-Security-Auditing:4720"]


def test_elastic_windows_iam_action_names_the_security_event(keys):
    r = rule(
        "elastic",
        event_hints=(
            ("event.category", "iam"),
            ("event.action", "scheduled-task-created"),
            ("host.os.type", "windows"),
        ),
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Microsoft-Windows-Security-Auditing:4698"]


def test_elastic_sysmon_event_code_is_a_sysmon_event(keys):
    r = rule(
        "elastic",
        event_hints=(("event.category", "process"), ("host.os.type", "windows")),
        condition=eq("event.code", "10"),
    )
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Microsoft-Windows-Sysmon:10"]


def test_elastic_macos_network_stays_unmapped_without_an_esf_event(keys):
    r = rule("elastic", event_hints=(("event.category", "network"), ("os", "macos")))
    assert em.rule_events(r, keys) == ([], "category not mapped: macos network")


def test_elastic_cloud_rule_has_no_os(keys):
    r = rule("elastic", data_sources=("logs-aws.cloudtrail-*",))
    assert em.rule_events(r, keys).reason.startswith("no operating system")


# --- Splunk -------------------------------------------------------------------------------------


def test_splunk_names_patterns_and_joined_names():
    assert em.splunk_data_source_events("NTLM Operational 8004,8005,8006") == [
        "Microsoft-Windows-NTLM:8004",
        "Microsoft-Windows-NTLM:8005",
        "Microsoft-Windows-NTLM:8006",
    ]
    assert em.splunk_data_source_events("Sysmon for Linux EventID 11") == ["Sysmon for Linux:11"]
    assert em.splunk_data_source_events("Linux Auditd Execve") == ["auditd:EXECVE"]
    assert em.splunk_data_source_events("CrowdStrike ProcessRollup2") == []


def test_splunk_joined_data_source(keys):
    r = rule("splunk", data_sources=("Sysmon EventID 1 AND Sysmon EventID 11",))
    found, _ = em.rule_events(r, keys)
    assert [k for k, _ in found] == ["Microsoft-Windows-Sysmon:1", "Microsoft-Windows-Sysmon:11"]


# --- ATT&CK analytics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "channel", "expected"),
    [
        (
            "WinEventLog:Sysmon",
            "EventCode=3, 22",
            ["Microsoft-Windows-Sysmon:3", "Microsoft-Windows-Sysmon:22"],
        ),
        (
            "WinEventLog:Security",
            "EventCode=4103, 4104",
            ["Microsoft-Windows-PowerShell:4103", "Microsoft-Windows-PowerShell:4104"],
        ),
        ("auditd:SYSCALL", "socket/connect", ["auditd:SYSCALL:socket", "auditd:SYSCALL:connect"]),
        (
            "auditd:SYSCALL",
            "execve: Execution of files saved in mail directories",
            ["auditd:SYSCALL:execve"],
        ),
        ("auditd:SYSCALL", "PATH", ["auditd:PATH"]),
        (
            "macos:endpointsecurity",
            "ES_EVENT_TYPE_NOTIFY_EXEC",
            ["Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_EXEC"],
        ),
        (
            "macos:endpointsecurity",
            "es_event_file_rename_t or es_event_file_write_t",
            [
                "Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_RENAME",
                "Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_WRITE",
            ],
        ),
        (
            "macos:endpointsecurity",
            "write, rename",
            [
                "Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_WRITE",
                "Apple Endpoint Security:ES_EVENT_TYPE_NOTIFY_RENAME",
            ],
        ),
        ("WinEventLog:Application", "EventCode=1000", ["Application Error:1000"]),
        (
            "WinEventLog:System",
            "EventCode=106, 200",
            ["Microsoft-Windows-TaskScheduler:106", "Microsoft-Windows-TaskScheduler:200"],
        ),
        ("linux:syslog", "sshd[pid]: Failed password", ["Linux syslog:syslog"]),
        ("auditd:SYSCALL", "exit_group", ["auditd:SYSCALL:exit_group"]),
        ("WinEventLog:Sysmon", "File creation of suspicious scripts in temporary directories", []),
        ("macos:unifiedlog", "anything", []),
    ],
)
def test_analytic_log_sources(name, channel, expected, keys):
    ref = LogSourceRef("DC0001", name, channel)
    assert em.analytic_events(ref, keys) == expected
    assert em.analytic_event(ref, keys) == (expected[0] if expected else None)


def test_catalogue_given_as_records(authored):
    records = authored[0]
    r = rule("splunk", data_sources=("Windows Event Log System 7045",))
    assert em.rule_events(r, records).events[0][0] == "Service Control Manager:7045"
