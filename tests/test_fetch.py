"""Fetching pinned sources, served from a loopback HTTP server (no test touches the internet)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kg.errors import FetchError
from kg.fetch import MARKER, fetch_all, source_url
from kg.loaders.attack import load_bundle
from kg.sources import Pin

COMMIT = "0123456789abcdef0123456789abcdef01234567"
ELASTIC = Pin("elastic", "elastic/detection-rules", COMMIT, "t", "Elastic License 2.0", "elastic")
OSSEM = Pin("ossem-dd", "OTRF/OSSEM-DD", COMMIT, "t", "MIT", "events/ossem-dd")
ATTACK = Pin(
    "attack",
    "mitre-attack/attack-stix-data",
    COMMIT,
    "18.1",
    "ATT&CK",
    "attack",
    files=("enterprise-attack/enterprise-attack-18.1.json",),
)
FIXTURE = Path(__file__).parent / "fixtures" / "attack_mini.json"


def _tarball(top: str, files: dict[str, str]) -> bytes:
    """A gzip tar like GitHub's: every member under one ``<repo>-<commit>/`` folder."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{top}/{name}" if not name.startswith("..") else name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Mirror:
    """What the loopback server serves, and the requests it saw."""

    url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)  # paths sent half, with the full length
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    state = Mirror()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append(self.path)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.path in state.truncate:
                self.wfile.write(body[: len(body) // 2])
                self.close_connection = True
            else:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass  # keep pytest output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


ELASTIC_PATH = f"/elastic/detection-rules/tar.gz/{COMMIT}"
ELASTIC_FILES = {
    "rules/windows/execution_python.toml": "[rule]\nname = 'python'\n",
    "rules_building_block/bb.toml": "[rule]\nname = 'bb'\n",
    "LICENSE.txt": "Elastic License 2.0\n",
    "tests/test_rules.py": "not for kg\n",
    "detection_rules/etc/attack.json": "{}",
}


def _serve_elastic(mirror: Mirror) -> bytes:
    body = _tarball(f"detection-rules-{COMMIT}", ELASTIC_FILES)
    mirror.files[ELASTIC_PATH] = body
    return body


def test_archive_is_extracted_in_the_corpora_layout(mirror, tmp_path):
    body = _serve_elastic(mirror)
    tree = fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    rules = tree / "elastic"
    assert (rules / "rules/windows/execution_python.toml").read_text() == (
        ELASTIC_FILES["rules/windows/execution_python.toml"]
    )
    assert (rules / "rules_building_block/bb.toml").is_file()
    assert (rules / "LICENSE.txt").is_file()
    assert not (rules / "tests").exists() and not (rules / "detection_rules").exists()
    assert not (rules / f"detection-rules-{COMMIT}").exists()  # top folder stripped
    source = tmp_path / "sources" / f"elastic-{COMMIT}"
    marker = json.loads((source / MARKER).read_text())
    assert marker["commit"] == COMMIT
    assert marker["sha256"] == {"archive": hashlib.sha256(body).hexdigest()}


def test_second_fetch_uses_the_cache_without_a_request(mirror, tmp_path):
    _serve_elastic(mirror)
    first = fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert mirror.requests == [ELASTIC_PATH]
    second = fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert second == first
    assert mirror.requests == [ELASTIC_PATH]


def test_attack_bundle_file_lands_where_the_loader_reads_it(mirror, tmp_path):
    path = f"/mitre-attack/attack-stix-data/{COMMIT}/enterprise-attack/enterprise-attack-18.1.json"
    mirror.files[path] = FIXTURE.read_bytes()
    tree = fetch_all([ATTACK], mirror.url, cache=tmp_path)
    bundle = tree / "attack" / "enterprise-attack.json"
    assert bundle.read_bytes() == FIXTURE.read_bytes()
    assert load_bundle(bundle, version=ATTACK.version) == load_bundle(FIXTURE, version="18.1")


def test_ossem_dd_keeps_only_the_event_catalogue(mirror, tmp_path):
    etw = "windows/etw-providers"
    files = {
        "windows/sysmon/events/event-1.yml": "event_id: 1\n",
        f"{etw}/Microsoft-Windows-Security-Auditing/events/event-4688.yml": "event_id: 4688\n",
        f"{etw}/Microsoft-Windows-Shell-Core/events/event-9705.yml": "event_id: 9705\n",
        "resources/schemas/sysmon/sysmonv15.15_4.90.xml": "<manifest/>\n",
        "resources/images/logo.png": "png",
        "docs/intro.md": "# docs\n",
        "LICENSE": "MIT\n",
    }
    mirror.files[f"/OTRF/OSSEM-DD/tar.gz/{COMMIT}"] = _tarball(f"OSSEM-DD-{COMMIT}", files)
    tree = fetch_all([OSSEM], mirror.url, cache=tmp_path)
    root = tree / "events" / "ossem-dd"
    kept = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert kept == [
        "LICENSE",
        "resources/schemas/sysmon/sysmonv15.15_4.90.xml",
        f"{etw}/Microsoft-Windows-Security-Auditing/events/event-4688.yml",
        "windows/sysmon/events/event-1.yml",
    ]


def test_404_names_the_url_and_leaves_nothing(mirror, tmp_path):
    with pytest.raises(FetchError, match=rf"{mirror.url}{ELASTIC_PATH}: HTTP 404"):
        fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert list((tmp_path / "sources").iterdir()) == []


def test_truncated_download_is_not_left_as_complete(mirror, tmp_path):
    _serve_elastic(mirror)
    mirror.truncate.add(ELASTIC_PATH)
    with pytest.raises(FetchError, match=rf"{ELASTIC_PATH}: truncated"):
        fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert list((tmp_path / "sources").iterdir()) == []
    mirror.truncate.clear()
    tree = fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert mirror.requests == [ELASTIC_PATH, ELASTIC_PATH]  # fetched again, not reused
    assert (tree / "elastic/rules/windows/execution_python.toml").is_file()


def test_directory_without_marker_is_fetched_again(mirror, tmp_path):
    _serve_elastic(mirror)
    stale = tmp_path / "sources" / f"elastic-{COMMIT}" / "elastic" / "rules"
    stale.mkdir(parents=True)
    (stale / "half.toml").write_text("cut")
    tree = fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert mirror.requests == [ELASTIC_PATH]
    assert not (tree / "elastic/rules/half.toml").exists()


def test_archive_that_is_not_gzip_names_the_url(mirror, tmp_path):
    mirror.files[ELASTIC_PATH] = b"<html>rate limited</html>"
    with pytest.raises(FetchError, match=rf"{ELASTIC_PATH}: archive cannot be extracted"):
        fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert list((tmp_path / "sources").iterdir()) == []


def test_bundle_that_is_not_json_is_a_failed_download(mirror, tmp_path):
    path = f"/mitre-attack/attack-stix-data/{COMMIT}/enterprise-attack/enterprise-attack-18.1.json"
    mirror.files[path] = b'{"type": "bundle", "objects": ['
    with pytest.raises(FetchError, match="attack-18.1.json: downloaded file is not JSON"):
        fetch_all([ATTACK], mirror.url, cache=tmp_path)


def test_member_escaping_the_archive_is_not_written(mirror, tmp_path):
    files = dict(ELASTIC_FILES)
    files["../../escaped.toml"] = "outside"
    mirror.files[ELASTIC_PATH] = _tarball(f"detection-rules-{COMMIT}", files)
    fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert not list(tmp_path.rglob("escaped.toml"))


def test_environment_sets_mirror_and_cache(mirror, tmp_path, monkeypatch):
    _serve_elastic(mirror)
    monkeypatch.setenv("KG_FETCH_BASE", mirror.url + "/")
    monkeypatch.setenv("KG_CACHE", str(tmp_path / "cache"))
    tree = fetch_all([ELASTIC])
    assert tree.parent == tmp_path / "cache" / "sources"
    assert (tree / "elastic/LICENSE.txt").is_file()


def test_progress_reports_bytes(mirror, tmp_path):
    body = _serve_elastic(mirror)
    seen: list[tuple[str, int, int | None]] = []
    fetch_all([ELASTIC], mirror.url, cache=tmp_path, progress=lambda *a: seen.append(a))
    assert seen and seen[-1] == ("elastic", len(body), len(body))


def test_tree_of_several_pins_links_each_folder(mirror, tmp_path):
    _serve_elastic(mirror)
    mirror.files[f"/OTRF/OSSEM-DD/tar.gz/{COMMIT}"] = _tarball(
        f"OSSEM-DD-{COMMIT}", {"windows/sysmon/events/event-1.yml": "event_id: 1\n"}
    )
    tree = fetch_all([ELASTIC, OSSEM], mirror.url, cache=tmp_path)
    assert sorted(p.name for p in tree.iterdir() if not p.name.startswith(".")) == [
        "elastic",
        "events",
    ]
    assert (tree / "events/ossem-dd/windows/sysmon/events/event-1.yml").is_file()
    assert (tree / "events/ossem-dd").resolve() == (
        tmp_path / "sources" / f"ossem-dd-{COMMIT}" / "events" / "ossem-dd"
    )


def test_mirror_keeps_github_paths():
    assert source_url(ELASTIC.archive_url, "http://mirror:8080/gh/") == (
        f"http://mirror:8080/gh/elastic/detection-rules/tar.gz/{COMMIT}"
    )
    assert source_url(ELASTIC.archive_url, None) == ELASTIC.archive_url


def test_partial_directory_of_a_dead_fetch_is_cleared(mirror, tmp_path):
    _serve_elastic(mirror)
    sources = tmp_path / "sources"
    dead = sources / f".partial-elastic-{COMMIT}-dead"
    (dead / "elastic").mkdir(parents=True)
    os.utime(dead, (0, 0))
    fetch_all([ELASTIC], mirror.url, cache=tmp_path)
    assert not dead.exists()
    assert not [p for p in sources.iterdir() if p.name.startswith(".partial-")]
