"""Visual exploration: the viz_* queries, the cut views, the HTML page, Browser files.

The graph (written straight into an embedded store):
    T1059.006 Python    sigma:a, sigma:b, elastic:c, splunk:d
    T1059.004 Unix Shell sigma:e          T1204 User Execution  elastic:f
    process.name eq python.exe        a, b, c, d, e   (shared by 4 of T1059.006's rules; reach 5)
    process.command_line wildcard * -c *  a, c, f     (shared by 2; reach 3)
    process.name eq python3           b, d            (shared by 2; reach 2)
    process.parent.name eq winword.exe  a             (one rule only: not an overlap)
    process.executable wildcard *\\pip\\*  EXCLUDED by c
    a ON_EVENT sysmon:1 and security:4688
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kg import cypher, schema
from kg.errors import QueryError
from kg.stores.embedded import EmbeddedStore
from kg.viz import browser
from kg.viz.graph import overlap_view, rule_view, value_view
from kg.viz.page import page_summary, remote_fetches, render_html

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_DEFAULTS = {
    schema.STRING: "",
    schema.INT: 0,
    schema.DOUBLE: 0.0,
    schema.BOOL: False,
    schema.STRINGS: [],
}

URL = "https://r.example/"
PY = "process.name eq python.exe"
DASH_C = "process.command_line wildcard * -c *"
PY3 = "process.name eq python3"
WORD = "process.parent.name eq winword.exe"
PIP = "process.executable wildcard *\\pip\\*"
RULES = [
    ("sigma:a", "sigma", "Python spawned by Office", "Alice", "T1059.006"),
    ("sigma:b", "sigma", "Python one-liner", "Bob", "T1059.006"),
    ("elastic:c", "elastic", "Python inline code", "Elastic", "T1059.006"),
    ("splunk:d", "splunk", "Python3 execution", "Splunk", "T1059.006"),
    ("sigma:e", "sigma", "Shell via python pty", "Eve", "T1059.004"),
    ("elastic:f", "elastic", "User ran script", "Elastic", "T1204"),
]
CHECKS = [
    ("sigma:a", PY), ("sigma:b", PY), ("elastic:c", PY), ("splunk:d", PY), ("sigma:e", PY),
    ("sigma:a", DASH_C), ("elastic:c", DASH_C), ("elastic:f", DASH_C),
    ("sigma:b", PY3), ("splunk:d", PY3), ("sigma:a", WORD),
]  # fmt: skip


def _node(label: str, **given: Any) -> dict[str, Any]:
    return {c: given.get(c, _DEFAULTS[t]) for c, t in schema.NODE_BY_LABEL[label].properties}


def _rel(name: str, src: str, dst: str) -> dict[str, Any]:
    props = schema.REL_BY_NAME[name].properties
    return {"src": src, "dst": dst, **{c: _DEFAULTS[t] for c, t in props}}


def _value(key: str) -> dict[str, Any]:
    field, op, value = key.split(" ", 2)
    return _node("Value", key=key, field=field, op=op, value=value, value_key=value)


def write_graph(store: Any) -> None:
    store.reset()
    techniques = [("T1059.006", "Python"), ("T1059.004", "Unix Shell"), ("T1204", "User Execution")]
    store.write_nodes(
        "Technique", [_node("Technique", id=i, name=n, known=True) for i, n in techniques]
    )
    store.write_nodes("Rule", [
        _node("Rule", uid=u, id=u.split(":")[1], vendor=v, title=t, author=a, url=URL + u)
        for u, v, t, a, _ in RULES
    ])  # fmt: skip
    store.write_rels("DETECTS", "Rule", "Technique", [_rel("DETECTS", u, t) for u, *_, t in RULES])
    keys = [PY, DASH_C, PY3, WORD, PIP]
    store.write_nodes(
        "Field", [_node("Field", name=f, mapped=True) for f in {k.split()[0] for k in keys}]
    )
    store.write_nodes("Value", [_value(k) for k in keys])
    store.write_rels(
        "OF_FIELD", "Value", "Field", [_rel("OF_FIELD", k, k.split()[0]) for k in keys]
    )
    store.write_rels("CHECKS", "Rule", "Value", [_rel("CHECKS", r, k) for r, k in CHECKS])
    store.write_rels("EXCLUDES", "Rule", "Value", [_rel("EXCLUDES", "elastic:c", PIP)])
    store.write_nodes("Event", [
        _node("Event", key="sysmon:1", provider="sysmon", event_id="1", title="Process creation"),
        _node("Event", key="security:4688", provider="security", event_id="4688", title="New"),
    ])  # fmt: skip
    store.write_rels("ON_EVENT", "Rule", "Event", [
        _rel("ON_EVENT", "sigma:a", "sysmon:1"), _rel("ON_EVENT", "sigma:a", "security:4688"),
    ])  # fmt: skip


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viz") / "graph.lbug"
    store = EmbeddedStore(path)
    write_graph(store)
    store.close()
    return path


@pytest.fixture()
def graph(db_path: Path) -> Any:
    store = EmbeddedStore(db_path, read_only=True)
    yield store
    store.close()


SAMPLES: dict[str, dict[str, Any]] = {
    "viz_overlap_graph": {"technique": "T1059.006", "limit": 10},
    "viz_overlap_rows": {"technique": "T1059.006", "limit": 10},
    "viz_overlap_techniques": {"technique": "T1059.006", "limit": 10},
    "viz_technique": {"technique": "T1059.006"},
    "viz_rule_graph": {"rule": "sigma:a", "limit": 10},
    "viz_rule_rows": {"rule": "sigma:a", "limit": 10},
    "viz_value_graph": {"field": "process.name", "op": "eq", "value": "python.exe", "limit": 10},
    "viz_value_rows": {"field": "process.name", "op": "eq", "value": "python.exe", "limit": 10},
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_viz_query_runs_on_embedded_store(graph: Any, name: str) -> None:
    query = cypher.load(name)
    assert graph.run(query.text, query.bind(SAMPLES[name]))


def test_every_viz_query_has_sample_params() -> None:
    assert {n for n in cypher.names() if n.startswith("viz_")} == set(SAMPLES)


def test_overlap_graph_rows_for_browser(graph: Any) -> None:
    rows = graph.run(cypher.load("viz_overlap_graph").text, SAMPLES["viz_overlap_graph"])
    pairs = {(r["rule"]["uid"], r["technique"]["id"], r["value"]["key"]) for r in rows}
    assert ("sigma:a", "T1059.006", PY) in pairs
    assert ("sigma:e", "T1059.004", PY) in pairs  # the other technique python.exe serves
    assert ("elastic:f", "T1204", DASH_C) in pairs
    assert not any(key == WORD for *_, key in pairs)  # checked by one rule: no overlap


def test_overlap_view_keeps_shared_values_and_other_techniques(graph: Any) -> None:
    view = overlap_view(graph, "T1059.006")
    ids = {n.id for n in view.nodes}
    assert ids == {
        "technique:T1059.006", f"value:{PY}", f"value:{DASH_C}", f"value:{PY3}",
        "rule:sigma:a", "rule:sigma:b", "rule:elastic:c", "rule:splunk:d",
        "technique:T1059.004", "technique:T1204",
    }  # fmt: skip
    assert (view.shown, view.total_nodes) == (10, 10)
    reach = {n.id: n.reach for n in view.nodes if n.label == "Value"}
    assert reach == {f"value:{PY}": 5, f"value:{DASH_C}": 3, f"value:{PY3}": 2}
    rule_a = next(n for n in view.nodes if n.id == "rule:sigma:a")
    assert rule_a.kind == "sigma" and rule_a.props["author"] == "Alice"
    assert (
        rule_a.props["indicators"]
        == "* -c * (process.command_line wildcard); python.exe (process.name eq)"
    )


def test_overlap_view_cut_keeps_the_strongest_value(graph: Any) -> None:
    view = overlap_view(graph, "T1059.006", limit=6)
    assert {n.id for n in view.nodes} == {
        "technique:T1059.006", f"value:{PY}",
        "rule:sigma:a", "rule:sigma:b", "rule:elastic:c", "rule:splunk:d",
    }  # fmt: skip
    assert (view.shown, view.total_nodes, view.limit) == (6, 10, 6)


def test_overlap_view_unknown_technique(graph: Any) -> None:
    with pytest.raises(QueryError, match="T9999"):
        overlap_view(graph, "T9999")


def test_rule_view_by_uid_and_by_vendor_id(graph: Any) -> None:
    for rule in ("sigma:a", "a"):
        view = rule_view(graph, rule)
        ids = {n.id for n in view.nodes}
        assert {f"value:{PY}", f"value:{WORD}", "technique:T1059.006", "event:sysmon:1"} <= ids
        assert {"rule:elastic:c", "rule:elastic:f", "rule:sigma:e"} <= ids
    peers = rule_view(graph, "sigma:a", limit=9)
    # focus + 3 values + technique + 2 events = 7; then the peer sharing most values (elastic:c)
    assert [n.id for n in peers.nodes][7:] == ["rule:elastic:c", "rule:elastic:f"]


def test_rule_view_shows_exclusions(graph: Any) -> None:
    view = rule_view(graph, "elastic:c")
    pip = next(n for n in view.nodes if n.id == f"value:{PIP}")
    assert pip.kind == "exclusion"
    assert any(e.rel == "EXCLUDES" and e.dst == pip.id for e in view.edges)


def test_value_view(graph: Any) -> None:
    view = value_view(graph, "process.name", "eq", "python.exe")
    ids = {n.id for n in view.nodes}
    assert {f"rule:{u}" for u, *_ in RULES[:5]} <= ids
    assert {"technique:T1059.006", "technique:T1059.004"} <= ids
    assert "rule:elastic:f" not in ids


def test_page_is_self_contained_and_carries_the_view(graph: Any) -> None:
    view = overlap_view(graph, "T1059.006", limit=6)
    page = render_html(view)
    assert remote_fetches(page) == []
    summary = page_summary(page)
    assert summary["nodes"] == [n.id for n in view.nodes]
    assert "showing 6 of 10 nodes, limit 6" in page
    assert "https://r.example/sigma:a" in page  # each rule's link, for credit


def test_remote_fetch_detector_finds_cdn_scripts() -> None:
    page = '<script src="https://cdn.example/x.js"></script><link href="//fonts.example/f.css">'
    assert remote_fetches(page) == ["//fonts.example/f.css", "https://cdn.example/x.js"]
    assert remote_fetches('<svg xmlns="http://www.w3.org/2000/svg"></svg>') == []


def test_cli_viz_writes_pages(db_path: Path, tmp_path: Path) -> None:
    from kg.cli_viz import viz

    runner = CliRunner()
    for args, name in (
        (["T1059.006"], "t.html"),
        (["--rule", "sigma:a"], "r.html"),
        (["--value", "process.name", "eq", "Python.EXE"], "v.html"),
    ):
        result = runner.invoke(viz, [*args, "--db", str(db_path), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert "showing" in result.output
        assert page_summary((tmp_path / name).read_text(encoding="utf-8"))["shown"] > 1
    bad = runner.invoke(viz, ["T1059.006", "--rule", "sigma:a", "--db", str(db_path)])
    assert bad.exit_code != 0 and "exactly one" in bad.output


def test_grass_sheet_is_valid() -> None:
    rules = browser.check_grass((ROOT / "browser" / "kg.grass").read_text(encoding="utf-8"))
    selectors = [r.selector for r in rules]
    assert selectors.index("node.Rule") < selectors.index("node.Sigma")  # later rules win
    captions = {r.selector: dict(r.props).get("caption") for r in rules}
    assert captions["node.Event"] == "'{provider} {event_id}'"


@pytest.mark.parametrize(
    ("sheet", "problem"),
    [
        ('node.Rule {\n  caption: "{title}";\n}', "double quote"),
        ("node.Rule {\n  caption: '{nope}';\n}", "not a Rule property"),
        ("node.Rule {\n  color: red;\n}", "hex colour"),
        ("node.Nope {\n  color: #fff;\n}", "not in kg.schema"),
        ("node.Event {\n  caption: '{provider}:{event_id}';\n}", "not 'key: value'"),
        ("node {\n  diameter: 50px;\n", "ends inside"),
    ],
)
def test_grass_checker_rejects(sheet: str, problem: str) -> None:
    with pytest.raises(browser.GrassError, match=problem):
        browser.check_grass(sheet)


def test_favourites_are_current() -> None:
    folder = ROOT / "browser" / "favourites"
    expected = browser.favourite_files()
    assert sorted(p.name for p in folder.glob("*.cypher")) == sorted(expected)
    for name, text in expected.items():
        assert (folder / name).read_text(encoding="utf-8") == text, f"regenerate {name}"


@pytest.mark.parametrize("stem", sorted(browser.FAVOURITES))
def test_favourite_queries_hold_no_param_lines(stem: str) -> None:
    # a favourite mixing :param with a query is run as a script and draws nothing
    query = browser.favourite_text(stem)
    assert query.startswith("// kg: ") and "\n:param" not in query
    assert ":param limit => " in browser.params_text(stem)


# -- headless Chromium -----------------------------------------------------------------------


class _Devtools:
    """Just enough of the Chrome DevTools Protocol: call a method, keep the events."""

    def __init__(self, url: str) -> None:
        websocket = pytest.importorskip("websocket", reason="websocket-client is not installed")
        self.ws = websocket.create_connection(url, timeout=30)
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return dict(message.get("result", {}))
            self.events.append(message)

    def value(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)[
            "result"
        ].get("value")


def _start_chromium(profile: Path) -> tuple[subprocess.Popen[bytes], str]:
    assert CHROMIUM
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--remote-debugging-port=0", "--window-size=1400,900",
    ]  # fmt: skip
    proc = subprocess.Popen([CHROMIUM, *flags, "about:blank"], stderr=subprocess.DEVNULL)
    port_file = profile / "DevToolsActivePort"
    for _ in range(200):
        if port_file.exists() and port_file.read_text().strip():
            break
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as answer:
        targets = json.load(answer)
    return proc, next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")


@pytest.mark.browser
@pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (apt-get install chromium)"
)
def test_page_draws_in_headless_chromium(graph: Any, tmp_path: Path) -> None:
    page = tmp_path / "overlap.html"
    page.write_text(render_html(overlap_view(graph, "T1059.006")), encoding="utf-8")
    proc, ws_url = _start_chromium(tmp_path / "profile")
    try:
        tools = _Devtools(ws_url)
        tools.call("Network.enable")
        tools.call("Page.enable")
        tools.call("Page.navigate", url=page.as_uri())
        for _ in range(100):
            if tools.value("document.querySelectorAll('canvas').length"):
                break
            time.sleep(0.2)
        # NVL fades node captions in once the force layout stops; give it a few seconds.
        time.sleep(5)
        drawn = tools.value(
            "JSON.parse(document.getElementById('neo4j-viz-data').textContent).nodes.map(n => n.id)"
        )
        legend = tools.value("document.body.innerText")
        shot = tools.call("Page.captureScreenshot", format="png")["data"]
        tools.call("Network.disable")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert set(drawn) == set(page_summary(page.read_text(encoding="utf-8"))["nodes"])
    assert "Sigma rule" in legend and "showing 10 of 10 nodes, limit 150" in legend
    requested = [
        e["params"]["request"]["url"]
        for e in tools.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    assert not [u for u in requested if u.startswith(("http:", "https:"))]
    # KG_VIZ_SHOTS keeps the screenshot for a person to look at.
    target = Path(os.environ.get("KG_VIZ_SHOTS") or tmp_path) / "overlap.png"
    target.write_bytes(base64.b64decode(shot))
    assert target.stat().st_size > 10_000
