"""A view as one self-contained HTML page, drawn by Neo4j's neo4j-viz (NVL).

neo4j-viz ships its page template with the JavaScript and CSS already inlined (fonts as data
URLs), so the page opens with no network; :func:`remote_fetches` checks that, and the tests
run it on every page.  kg adds a header above the drawing: the view's title, how many nodes
it shows out of how many it found and the limit, what colour and size mean, and the credit
that rule content belongs to its authors (each rule's author and link are in its details).
"""

from __future__ import annotations

import html
import json
import logging
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kg.viz.graph import View, VizNode

if TYPE_CHECKING:
    from pydantic_extra_types.color import ColorType

log = logging.getLogger(__name__)

#: Okabe-Ito colours: told apart by readers with the common colour-vision deficiencies.
KIND_COLOURS: dict[str, str] = {
    "sigma": "#0072B2",
    "elastic": "#E69F00",
    "splunk": "#009E73",
    "other": "#999999",
    "value": "#CC79A7",
    "exclusion": "#D55E00",
    "technique": "#F0E442",
    "event": "#56B4E9",
    "focus": "#000000",
}

_LEGEND_NAMES: dict[str, str] = {
    "sigma": "Sigma rule",
    "elastic": "Elastic rule",
    "splunk": "Splunk rule",
    "other": "rule (other vendor)",
    "value": "indicator value",
    "exclusion": "excluded value",
    "technique": "ATT&CK technique",
    "event": "log event",
    "focus": "centre of the view",
}

_REL_COLOURS = {"EXCLUDES": "#D55E00", "ALSO_SERVES": "#BBBBBB"}
_CAPTION_MAX = 42
_HEADER_PX = 76
# The force layout stops once nodes move slower than this; NVL fades node captions in only
# after it stops, and its default threshold keeps a headless browser simulating for long.
STOP_VELOCITY = 50.0

# A fetch is a src or href attribute, a CSS url() or @import, whose target is a remote URL;
# URLs that only appear in inlined code (XML namespaces, error-message links) are not fetched.
_FETCH = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])\s*((?:https?:)?//[^"'\s)>]+)""",
    re.IGNORECASE,
)


def node_size(node: VizNode) -> float:
    """Radius in pixels; a value grows with the log of its corpus reach so that a value
    checked by 500 rules stands out without swallowing the page."""
    if node.label == "Value":
        return min(16 + 6 * math.log2(1 + node.reach), 60)
    if node.kind == "focus":
        return 34
    return {"Rule": 24, "Technique": 26, "Event": 20}.get(node.label, 20)


def initial_zoom(node_count: int) -> float:
    """Zoom that fits a force layout of ``node_count`` nodes in a laptop window, roughly:
    the layout's area grows with the node count, so its side with the square root."""
    return min(1.5, max(0.25, 4.5 / math.sqrt(max(node_count, 1))))


def _caption(text: str) -> str:
    return text if len(text) <= _CAPTION_MAX else text[: _CAPTION_MAX - 1] + "…"


def _details(node: VizNode) -> dict[str, Any]:
    """What hovering or selecting a node shows: its label first, then its properties."""
    details: dict[str, Any] = {"label": node.label}
    details.update({k: v for k, v in node.props.items() if v not in ("", None)})
    return details


def summary_line(view: View) -> str:
    total = f"{view.total_nodes}" if view.complete else f"at least {view.total_nodes}"
    return f"showing {view.shown} of {total} nodes, limit {view.limit}"


def render_html(view: View) -> str:
    """The page for ``view``; every byte it needs is in the returned string."""
    from neo4j_viz import Node, Relationship, VisualizationGraph

    nodes = [
        Node(
            id=n.id,
            caption=_caption(n.caption),
            size=node_size(n),
            color=KIND_COLOURS.get(n.kind, KIND_COLOURS["other"]),
            properties=_details(n),
        )
        for n in view.nodes
    ]
    rels = [
        Relationship(
            source=e.src,
            target=e.dst,
            caption=e.caption or e.rel,
            color=_REL_COLOURS.get(e.rel, "#888888"),
            properties={"type": e.rel, **({"detail": e.caption} if e.caption else {})},
        )
        for e in view.edges
    ]
    graph = VisualizationGraph(nodes=nodes, relationships=rels)
    kinds = [k for k in KIND_COLOURS if any(n.kind == k for n in view.nodes)]
    legend: dict[Any, ColorType] = {_LEGEND_NAMES[k]: KIND_COLOURS[k] for k in kinds}
    graph.set_legend(nodes=legend)
    page = graph.render(
        width="100%",
        height=f"calc(100vh - {_HEADER_PX}px)",
        theme="light",
        max_allowed_nodes=max(view.limit, len(nodes)),
        on_dangling="error",
        initial_zoom=initial_zoom(len(nodes)),
        layout_options={"simulationStopVelocity": STOP_VELOCITY},
    ).data
    return _decorate(str(page), view)


def _decorate(page: str, view: View) -> str:
    """Add kg's header, a summary data block for tools and tests, and a page title."""
    summary = {
        "title": view.title,
        "shown": view.shown,
        "total": view.total_nodes,
        "complete": view.complete,
        "limit": view.limit,
        "nodes": [n.id for n in view.nodes],
    }
    data = json.dumps(summary, ensure_ascii=False).replace("<", "\\u003c")
    block = f'<script type="application/json" id="kg-viz-summary">{data}</script>'
    page = page.replace("<title>neo4j-viz</title>", f"<title>{html.escape(view.title)}</title>", 1)
    page = page.replace("</head>", f"{block}\n</head>", 1)
    return page.replace("<body>", "<body>\n" + _header(view), 1)


def _header(view: View) -> str:
    sizes = (
        "Indicator values are sized by corpus reach (distinct rules in the corpus checking them)."
    )
    hint = "Hover or select a node for its details; rules show title, author, link and indicators."
    credit = "Rule content belongs to its authors; each rule's author and link are in its details."
    return (
        f'<header id="kg-viz-header" style="box-sizing:border-box;height:{_HEADER_PX}px;'
        "padding:6px 12px;font:13px system-ui,sans-serif;border-bottom:1px solid #ddd;"
        'overflow:hidden">'
        f'<div style="font-size:16px;font-weight:600">{html.escape(view.title)}</div>'
        f'<div id="kg-viz-count">{html.escape(summary_line(view))}. {html.escape(sizes)}</div>'
        f'<div style="color:#555">{html.escape(hint)} {html.escape(credit)}</div>'
        "</header>"
    )


def write_page(view: View, target: Path) -> int:
    """Write the page and return its size in bytes."""
    text = render_html(view)
    target.write_text(text, encoding="utf-8")
    size = len(text.encode("utf-8"))
    log.info("wrote %s: %s, %d bytes", target, summary_line(view), size)
    return size


def remote_fetches(page: str) -> list[str]:
    """Remote URLs the page would fetch when opened (should be none)."""
    return sorted(set(_FETCH.findall(page)))


def page_summary(page: str) -> Mapping[str, Any]:
    """The summary block kg puts in every page."""
    match = re.search(r'<script type="application/json" id="kg-viz-summary">(.*?)</script>', page)
    if match is None:
        raise ValueError("not a kg viz page: no kg-viz-summary block")
    return dict(json.loads(match.group(1)))
