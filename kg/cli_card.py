"""CLI commands for the technique card, the rules behind a count, overlap, coverage, gaps
and the Navigator export.  ``kg.cli`` registers everything in :data:`COMMANDS`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from kg import card as card_render
from kg import navigator
from kg.api import ENTERPRISE, KnowledgeBase
from kg.cli_options import console, open_from_options, store_options

_FORMAT = click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
_DEPRECATED = click.option(
    "--include-deprecated",
    is_flag=True,
    help="Also count deprecated rules and revoked/deprecated techniques.",
)
_SUBS = click.option(
    "--subtechniques/--no-subtechniques",
    "subtechniques",
    default=True,
    show_default=True,
    help="Include sub-techniques.",
)
_DOMAIN = click.option(
    "--domain", default=ENTERPRISE, show_default=True, help="ATT&CK domain; '' for all."
)


@contextmanager
def _knowledge_base(opts: dict[str, Any]) -> Iterator[KnowledgeBase]:
    store = open_from_options(
        opts.pop("neo4j_uri"),
        opts.pop("user"),
        opts.pop("password"),
        opts.pop("db_path"),
        read_only=True,
    )
    try:
        yield KnowledgeBase(store)
    finally:
        store.close()


def _print_records(title: str, records: tuple[Any, ...]) -> None:
    if not records:
        console.print(Text(f"{title}: (none)"))
        return
    rows = [asdict(r) for r in records]
    table = Table(title=title, title_justify="left")
    for col in rows[0]:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*(Text(_cell(v)) for v in row.values()))
    console.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_cell(v)}" for k, v in value.items())
    return "" if value is None else str(value)


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.command()
@store_options
@click.argument("technique")
@click.option(
    "--subtechniques/--no-subtechniques",
    "subtechniques",
    default=True,
    show_default=True,
    help="Also take the rules of the technique's sub-techniques.",
)
@click.option(
    "--deprecated/--no-deprecated",
    "deprecated",
    default=True,
    show_default=True,
    help="List deprecated rules (flagged) and count them.",
)
@click.option(
    "--limit", default=25, show_default=True, help="Fields, indicators and exclusions shown."
)
@click.option("--samples", default=3, show_default=True, help="Sample values per field.")
@click.option(
    "--format", "fmt", type=click.Choice(card_render.FORMATS), default="table", show_default=True
)
def technique(
    technique: str,
    subtechniques: bool,
    deprecated: bool,
    limit: int,
    samples: int,
    fmt: str,
    **opts: Any,
) -> None:
    """The technique card: events, fields, indicators, exclusions, rules, totals."""
    with _knowledge_base(opts) as kb:
        tcard = kb.technique(
            technique,
            include_subtechniques=subtechniques,
            include_deprecated=deprecated,
            limit=limit,
            samples=samples,
        )
    if fmt == "json":
        click.echo(card_render.card_to_json(tcard))
    elif fmt == "markdown":
        click.echo(card_render.card_to_markdown(tcard), nl=False)
    else:
        card_render.render_card(tcard, console)


@click.command()
@store_options
@click.argument("technique", required=False)
@click.option("--event", help="An event key (provider:event_id) from the card.")
@click.option("--field", help="A canonical field from the card.")
@click.option("--op", default="", help="With --field: only this operator.")
@click.option("--value", help="An indicator's Value key; without TECHNIQUE: its corpus reach.")
@click.option("--exclusion", help="An exclusion's Value key; without TECHNIQUE: its corpus reach.")
@click.option("--subtechniques/--no-subtechniques", "subtechniques", default=True)
@click.option("--deprecated/--no-deprecated", "deprecated", default=True)
@_FORMAT
def behind(
    technique: str | None,
    event: str | None,
    field: str | None,
    op: str,
    value: str | None,
    exclusion: str | None,
    subtechniques: bool,
    deprecated: bool,
    fmt: str,
    **opts: Any,
) -> None:
    """The rules behind one count of a technique card (or behind a value's corpus reach)."""
    with _knowledge_base(opts) as kb:
        rules = kb.rules_behind(
            technique,
            event=event,
            field=field,
            op=op,
            value=value,
            exclusion=exclusion,
            include_subtechniques=subtechniques,
            include_deprecated=deprecated,
        )
    if fmt == "json":
        _echo_json([asdict(r) for r in rules])
    else:
        _print_records(f"{len(rules)} rules", rules)


@click.command()
@store_options
@click.argument("technique")
@_SUBS
@_DEPRECATED
@click.option("--limit", default=25, show_default=True)
@_FORMAT
def overlap(
    technique: str, subtechniques: bool, include_deprecated: bool, limit: int, fmt: str, **opts: Any
) -> None:
    """Indicators shared by several vendors' rules, and the most similar cross-vendor pairs."""
    with _knowledge_base(opts) as kb:
        answer = kb.overlap(
            technique,
            include_subtechniques=subtechniques,
            include_deprecated=include_deprecated,
            limit=limit,
        )
    if fmt == "json":
        _echo_json(asdict(answer))
        return
    _print_records("values shared by vendors", answer.values)
    _print_records("rule pairs (Jaccard of indicator sets)", answer.pairs)


@click.command()
@store_options
@_DOMAIN
@click.option("--tactic", default="", help="Tactic shortname or id.")
@click.option("--platform", default="", help="ATT&CK platform, spelt as ATT&CK does (Windows).")
@click.option("--technique", default="", help="Expected-event gaps for this technique only.")
@_SUBS
@_DEPRECATED
@click.option("--limit", default=200, show_default=True, help="Expected-event rows.")
@_FORMAT
def gaps(
    domain: str,
    tactic: str,
    platform: str,
    technique: str,
    subtechniques: bool,
    include_deprecated: bool,
    limit: int,
    fmt: str,
    **opts: Any,
) -> None:
    """Uncovered and single-vendor techniques, parent/child gaps, unread expected events.

    --tactic and --platform narrow the uncovered and single-vendor lists only."""
    with _knowledge_base(opts) as kb:
        answer = kb.gaps(
            domain=domain,
            tactic=tactic,
            platform=platform,
            include_subtechniques=subtechniques,
            include_deprecated=include_deprecated,
            technique=technique,
            limit=limit,
        )
    if fmt == "json":
        _echo_json(asdict(answer))
        return
    _print_records(f"uncovered ({len(answer.uncovered)})", answer.uncovered)
    _print_records(f"single vendor ({len(answer.single_vendor)})", answer.single_vendor)
    _print_records("parent / sub-technique gaps", answer.parent_child)
    _print_records("expected events no rule reads", answer.expected_events)


@click.command()
@store_options
@_DOMAIN
@_SUBS
@_DEPRECATED
@_FORMAT
def coverage(
    domain: str, subtechniques: bool, include_deprecated: bool, fmt: str, **opts: Any
) -> None:
    """Per tactic: techniques covered by no vendor, one, several, and by each vendor."""
    with _knowledge_base(opts) as kb:
        answer = kb.coverage_by_vendor_tactic(
            domain=domain,
            include_subtechniques=subtechniques,
            include_deprecated=include_deprecated,
        )
    if fmt == "json":
        _echo_json([asdict(t) for t in answer])
        return
    vendors = sorted({v.vendor for t in answer for v in t.vendors})
    table = Table(title="coverage by tactic", title_justify="left")
    for col in ("tactic", "techniques", "none", "one vendor", "several", *vendors):
        table.add_column(col, justify="left" if col == "tactic" else "right")
    for t in answer:
        by_vendor = {v.vendor: f"{v.techniques} ({v.only_vendor} only)" for v in t.vendors}
        table.add_row(
            t.tactic,
            str(t.techniques),
            str(t.uncovered),
            str(t.single_vendor),
            str(t.multi_vendor),
            *(by_vendor.get(v, "0") for v in vendors),
        )
    console.print(table)


@click.command()
@store_options
@click.argument("events", nargs=-1, required=True)
@_DOMAIN
@_DEPRECATED
@_FORMAT
def detectable(
    events: tuple[str, ...], domain: str, include_deprecated: bool, fmt: str, **opts: Any
) -> None:
    """Techniques with a rule that needs only the given EVENTS (keys provider:event_id)."""
    with _knowledge_base(opts) as kb:
        answer = kb.detectable_with(
            list(events), domain=domain, include_deprecated=include_deprecated
        )
    if fmt == "json":
        _echo_json([asdict(d) for d in answer])
    else:
        _print_records(f"{len(answer)} techniques", answer)


@click.group()
def export() -> None:
    """Export answers for other tools."""


@export.command("navigator")
@store_options
@_DOMAIN
@click.option("--vendor", default="", help="Only this vendor's rules (sigma, elastic, splunk).")
@click.option(
    "--score", type=click.Choice(["rules", "vendors"]), default="rules", show_default=True
)
@_SUBS
@_DEPRECATED
@click.option("--attack-version", default="18", show_default=True)
@click.option("--out", "-o", type=click.Path(path_type=Path), help="Write here, not stdout.")
def export_navigator(
    domain: str,
    vendor: str,
    score: navigator.Score,  # click.Choice holds it to the two names
    subtechniques: bool,
    include_deprecated: bool,
    attack_version: str,
    out: Path | None,
    **opts: Any,
) -> None:
    """Rule coverage as an ATT&CK Navigator layer (format 4.5)."""
    with _knowledge_base(opts) as kb:
        rows = kb.coverage_techniques(
            domain=domain,
            vendor=vendor,
            include_subtechniques=subtechniques,
            include_deprecated=include_deprecated,
        )
    who = vendor or "all vendors"
    layer = navigator.coverage_layer(
        rows,
        name=f"kg coverage ({who})",
        score=score,
        description=f"Techniques detected by public detection rules ({who}); score = {score}.",
        attack_version=attack_version,
        domain=domain or ENTERPRISE,
    )
    text = navigator.layer_to_json(layer)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(Text(f"wrote {out} ({len(rows)} techniques)"))


COMMANDS: list[click.Command] = [technique, behind, overlap, gaps, coverage, detectable, export]
