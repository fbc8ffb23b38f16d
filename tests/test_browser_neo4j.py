"""Neo4j Browser with kg's style sheet and a favourite, driven in headless Chromium.

The graph (written through the Neo4j store, which adds the vendor labels):
    T1059.006 Python    <- sigma:a "Py A", elastic:c "Py C", splunk:d "Py D"
    process.name eq python.exe    checked by a, c and d (so the overlap keeps it)

Chromium talks only to the loopback Browser and Bolt ports.  The test resets the Neo4j at
NEO4J_URI, like every Neo4j test here.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from conftest import open_test_store

from kg import schema, settings
from kg.stores.base import GraphStore
from kg.viz import browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PY = "process.name eq python.exe"
RULES = [
    ("sigma:a", "sigma", "Py A"),
    ("elastic:c", "elastic", "Py C"),
    ("splunk:d", "splunk", "Py D"),
]
_DEFAULTS = {schema.STRING: "", schema.INT: 0, schema.DOUBLE: 0.0, schema.BOOL: False,
             schema.STRINGS: []}  # fmt: skip

pytestmark = [pytest.mark.neo4j, pytest.mark.browser]


def _drive() -> ModuleType:
    """browser/drive.py, which also takes the README screenshots; it is a script, not in kg."""
    spec = importlib.util.spec_from_file_location("kg_browser_drive", ROOT / "browser" / "drive.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _node(label: str, **given: Any) -> dict[str, Any]:
    return {c: given.get(c, _DEFAULTS[t]) for c, t in schema.NODE_BY_LABEL[label].properties}


def _rel(name: str, src: str, dst: str) -> dict[str, Any]:
    return {
        "src": src,
        "dst": dst,
        **{c: _DEFAULTS[t] for c, t in schema.REL_BY_NAME[name].properties},
    }


def _write_graph(store: GraphStore) -> None:
    store.write_nodes("Technique", [_node("Technique", id="T1059.006", name="Python", known=True)])
    store.write_nodes("Rule", [
        _node("Rule", uid=u, id=u.split(":")[1], vendor=v, title=t, author="kg tests")
        for u, v, t in RULES
    ])  # fmt: skip
    store.write_rels(
        "DETECTS", "Rule", "Technique", [_rel("DETECTS", u, "T1059.006") for u, *_ in RULES]
    )
    store.write_nodes("Field", [_node("Field", name="process.name", mapped=True)])
    field, op, value = PY.split(" ", 2)
    store.write_nodes(
        "Value", [_node("Value", key=PY, field=field, op=op, value=value, value_key=value)]
    )
    store.write_rels("OF_FIELD", "Value", "Field", [_rel("OF_FIELD", PY, field)])
    store.write_rels("CHECKS", "Rule", "Value", [_rel("CHECKS", u, PY) for u, *_ in RULES])


@pytest.fixture
def http_port() -> int:
    """The Browser's HTTP port, or a skip saying why the Browser cannot be reached."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    port = os.environ.get("KG_NEO4J_HTTP_PORT")
    if not port:
        pytest.skip("KG_NEO4J_HTTP_PORT is not set: no Neo4j Browser endpoint to open")
    url = f"http://127.0.0.1:{port}/browser/"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            answer.read(200)
    except (urllib.error.URLError, OSError) as exc:
        pytest.skip(f"Neo4j Browser does not answer at {url}: {exc}")
    return int(port)


@pytest.fixture
def loaded(tmp_path: Path) -> Any:
    store = open_test_store("neo4j", tmp_path)
    _write_graph(store)
    yield store
    store.close()


def test_vendor_labels_and_favourite_rows_over_bolt(loaded: GraphStore) -> None:
    rows = loaded.run("MATCH (r:Rule) RETURN r.uid AS uid, labels(r) AS labels ORDER BY uid")
    assert [(r["uid"], sorted(r["labels"])) for r in rows] == [
        ("elastic:c", ["Elastic", "Rule"]), ("sigma:a", ["Rule", "Sigma"]),
        ("splunk:d", ["Rule", "Splunk"]),
    ]  # fmt: skip
    drive = _drive()
    text = (ROOT / "browser" / "favourites" / "kg-overlap.cypher").read_text(encoding="utf-8")
    drawn = loaded.run(drive.favourite_query(text), {"technique": "T1059.006", "limit": 5})
    assert sorted(r["rule"]["uid"] for r in drawn) == ["elastic:c", "sigma:a", "splunk:d"]
    assert {r["value"]["key"] for r in drawn} == {PY}


def test_style_and_favourite_draw_in_neo4j_browser(http_port: int, loaded: GraphStore) -> None:
    uri, user, password = settings.neo4j_settings()
    bolt_port = urllib.parse.urlsplit(uri or "").port or 7687
    drive = _drive()
    grass = (ROOT / "browser" / "kg.grass").read_text(encoding="utf-8")
    sheet = {rule.selector: dict(rule.props) for rule in browser.check_grass(grass)}
    favourite = (ROOT / "browser" / "favourites" / "kg-overlap.cypher").read_text("utf-8")
    assert CHROMIUM
    with drive.chromium(CHROMIUM) as tools:
        page = drive.NeoBrowser(tools, http_port)
        page.connect(bolt_port, user, password or "")
        stored = page.apply_style(grass)
        page.set_param("technique", "'T1059.006'")
        page.set_param("limit", "5")
        nodes = page.draw(drive.favourite_query(favourite), timeout=30)
    # Browser keeps the sheet with the captions' quotes stripped.
    assert stored["node.Sigma"]["color"] == sheet["node.Sigma"]["color"]
    assert stored["node.Value"]["caption"] == sheet["node.Value"]["caption"].strip("'")
    fills = {n["caption"]: n["fill"].upper() for n in nodes}
    for _, vendor, title in RULES:
        colour = sheet[f"node.{schema.VENDOR_LABELS[vendor]}"]["color"].upper()
        assert fills.get(title) == colour, f"{title} drawn {fills.get(title)}, style says {colour}"
    assert fills.get("T1059.006 Python") == sheet["node.Technique"]["color"].upper()
    assert len(nodes) == 5
