"""Drive Neo4j Browser in headless Chromium over the DevTools protocol.

Used by tests/test_browser_neo4j.py and, run as a script, to take the screenshots in
docs/images/ from a Neo4j loaded with ``kg build --neo4j``::

    NEO4J_PASSWORD=... python browser/drive.py --http-port 17674 --bolt-port 17887 \\
        --out docs/images

What it does is what a person does: open /browser/, type the password into the connect
form, then type commands into the editor and press Run.  Findings that shape it:

* ``:style <sheet>`` takes the whole GraSS sheet as one command; newlines are folded into
  spaces so the editor's auto-indent cannot matter.  Browser keeps the sheet in
  localStorage under ``neo4j.grass`` (as JSON, quotes stripped from captions).
* A favourite run as one multi-statement script (``:param`` lines, then the query) shows
  only a list of statement summaries, never a graph; so parameters are set first with
  ``:param name => literal`` (which Browser evaluates as Cypher, so ``25`` stays an
  integer; ``:params {limit: 25}`` would make it the float 25.0, which LIMIT refuses),
  then the query runs alone and draws.
* "Connect result nodes" (setting ``autoComplete``) adds every relationship between the
  drawn nodes; off, the picture shows only the edges the query returns.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-port=0", "--hide-scrollbars",
)  # fmt: skip

# Each drawn node is an SVG group; its outline circle carries the fill GraSS chose.  Frames
# are stacked newest first, so the first frame holds the latest result.
NODES_JS = """Array.from(document.querySelectorAll('[data-testid=frame]')[0]
  .querySelectorAll('svg g.node')).map(g => ({
  fill: (g.querySelector('circle.b-outline') || {getAttribute: () => ''}).getAttribute('fill'),
  caption: Array.from(g.querySelectorAll('text.caption')).map(t => t.textContent.trim())
    .join(' ')}))"""


class BrowserDriveError(RuntimeError):
    """Neo4j Browser did not reach the state a step waits for."""


class Devtools:
    """Just enough of the Chrome DevTools Protocol: call a method, evaluate, wait."""

    def __init__(self, ws_url: str) -> None:
        import websocket

        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") != self.next_id:
                continue  # an event; nothing here subscribes to any
            if "error" in message:
                raise BrowserDriveError(f"{method}: {message['error'].get('message')}")
            return dict(message.get("result", {}))

    def js(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise BrowserDriveError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait(self, what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = check()
            if found:
                return found
            time.sleep(0.25)
        raise BrowserDriveError(f"gave up after {timeout:.0f}s waiting for {what}")

    def close(self) -> None:
        self.ws.close()


@contextmanager
def chromium(binary: str, width: int = 1400, height: int = 900) -> Iterator[Devtools]:
    """A headless Chromium with a throwaway profile, closed (and its profile removed) after."""
    profile = Path(tempfile.mkdtemp(prefix="kg-browser-profile-"))
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"]
    proc = subprocess.Popen([binary, *flags, "about:blank"], stderr=subprocess.DEVNULL)
    tools: Devtools | None = None
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise BrowserDriveError(f"{binary} did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=10) as answer:
            targets = json.load(answer)
        tools = Devtools(next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page"))
        yield tools
    finally:
        if tools is not None:
            tools.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


class NeoBrowser:
    """Neo4j Browser at http://127.0.0.1:<http_port>/browser/, driven as a person would."""

    def __init__(self, tools: Devtools, http_port: int) -> None:
        self.tools = tools
        self.http_port = http_port

    def connect(self, bolt_port: int, user: str, password: str) -> None:
        tools = self.tools
        tools.call("Page.enable")
        url = f"http://127.0.0.1:{self.http_port}/browser/?dbms=bolt://{user}@127.0.0.1:{bolt_port}"
        tools.call("Page.navigate", url=url)
        field = "document.querySelector('[data-testid=password]')"
        tools.wait("the connect form", lambda: tools.js(f"!!{field}"), timeout=60)
        tools.js(f"{field}.focus()")
        tools.call("Input.insertText", text=password)
        tools.js("document.querySelector('[data-testid=connect]').click()")
        tools.wait(
            "Browser to connect over Bolt",
            lambda: "You are connected as user" in tools.js("document.body.innerText"),
            timeout=60,
        )
        # The usage-report banner would push the frames down in a screenshot.
        tools.js(
            "Array.from(document.querySelectorAll('button, span, a'))"
            ".filter(e => e.closest('[class*=Banner], [data-testid=main]') && "
            "/usage/.test((e.parentElement || {}).innerText || '') && e.innerText === '')"
            ".slice(0, 1).forEach(e => e.click())"
        )

    def command(self, text: str) -> None:
        """Type ``text`` into the main editor, press Run, and wait for its frame."""
        tools = self.tools
        before = self.frame_count()
        tools.js("document.querySelector('#monaco-main-editor textarea, .monaco-editor textarea')"
                 ".focus()")  # fmt: skip
        tools.call("Input.insertText", text=text)
        tools.js("document.querySelector('[data-testid=editor-Run]').click()")
        tools.wait(f"a frame for {text[:40]!r}", lambda: self.frame_count() > before)

    def frame_count(self) -> int:
        return int(self.tools.js("document.querySelectorAll('[data-testid=frame]').length"))

    def apply_style(self, grass: str) -> dict[str, dict[str, str]]:
        """Run ``:style`` with the sheet; returns the style Browser stored."""
        self.command(":style " + " ".join(grass.split()))
        # Browser saves its state to localStorage a moment after the change.
        stored = self.tools.wait(
            "the style in localStorage",
            lambda: self.tools.js(
                "(s => s && s.includes('\"node') ? s : '')(localStorage.getItem('neo4j.grass'))"
            ),
        )
        return dict(json.loads(stored))

    def set_param(self, name: str, literal: str) -> None:
        self.command(f":param {name} => {literal}")

    def draw(self, query: str, timeout: float = 60) -> list[dict[str, str]]:
        """Run a query and wait until its graph is drawn and the layout settles."""
        self.command(query)
        self.tools.wait(
            "the result graph", lambda: self.tools.js(f"({NODES_JS}).length"), timeout=timeout
        )
        time.sleep(4)  # the force layout keeps moving nodes for a few seconds
        return list(self.tools.js(NODES_JS))

    def enlarge(self, zoom_steps: int) -> None:
        """Show the newest frame full screen and zoom into its graph."""
        frame = "document.querySelectorAll('[data-testid=frame]')[0]"
        self.tools.js(f"{frame}.querySelector('[title=Fullscreen]').click()")
        time.sleep(2)  # the graph re-centres in the larger frame
        for _ in range(zoom_steps):
            self.tools.js(f"{frame}.querySelector('[aria-label=zoom-in], .zoom-in, "
                          f"[title=\"Zoom in\"]').click()")  # fmt: skip
            time.sleep(0.5)

    def leave_fullscreen(self) -> None:
        self.tools.js(
            "document.querySelectorAll('[title=\"Close fullscreen\"]').forEach(b => b.click())"
        )
        time.sleep(0.5)

    def screenshot_frame(self, path: Path) -> int:
        """Save the newest frame (the graph) as PNG; returns the file's size."""
        rect = self.tools.js(
            "(() => { const r = document.querySelector('[data-testid=frame]')"
            ".getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })()"
        )
        x, y, width, height = rect
        clip = {"x": x, "y": y, "width": width, "height": height, "scale": 1}
        shot = self.tools.call("Page.captureScreenshot", format="png", clip=clip)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path.stat().st_size


def favourite_query(text: str) -> str:
    """The query of a favourite file: its comment lines and any ``:param`` lines dropped."""
    kept = [line for line in text.splitlines() if not line.lstrip().startswith((":", "//"))]
    return "\n".join(kept).strip()


SHOTS = {
    "browser-overlap.png": ("kg-overlap", {"technique": "'T1059.006'", "limit": "3"}),
    "browser-value.png": (
        "kg-value",
        {"field": "'process.parent.name'", "op": "'eq'", "value": "'winword.exe'",
         "limit": "40"},
    ),
}  # fmt: skip


def take_screenshots(args: argparse.Namespace) -> None:
    grass = (ROOT / "browser" / "kg.grass").read_text(encoding="utf-8")
    password = os.environ["NEO4J_PASSWORD"]
    with chromium(args.chromium, args.width, args.height) as tools:
        page = NeoBrowser(tools, args.http_port)
        page.connect(args.bolt_port, args.user, password)
        page.command(":config autoComplete: false")
        page.apply_style(grass)
        for name, (stem, params) in SHOTS.items():
            for key, literal in params.items():
                page.set_param(key, literal)
            favourite = (ROOT / "browser" / "favourites" / f"{stem}.cypher").read_text("utf-8")
            nodes = page.draw(favourite_query(favourite))
            page.enlarge(args.zoom)
            size = page.screenshot_frame(args.out / name)
            page.leave_fullscreen()
            fills = sorted({n["fill"] for n in nodes})
            log.info("%s: %d nodes, fills %s, %d bytes", name, len(nodes), fills, size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--http-port", type=int, default=7474)
    parser.add_argument("--bolt-port", type=int, default=7687)
    parser.add_argument("--user", default="neo4j")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    parser.add_argument("--zoom", type=int, default=1, help="zoom-in clicks before the shot")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    take_screenshots(parser.parse_args())


if __name__ == "__main__":
    main()
