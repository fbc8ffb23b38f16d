"""``kg viz``: one self-contained HTML page showing rule overlap, drawn with neo4j-viz."""

from __future__ import annotations

from pathlib import Path

import click

from kg.cli_options import console, open_from_options, store_options
from kg.errors import QueryError
from kg.model import Op
from kg.normalise import value_key
from kg.stores.base import GraphStore
from kg.viz.graph import DEFAULT_LIMIT, View, overlap_view, rule_view, value_view
from kg.viz.page import summary_line, write_page

_OPS = [op.value for op in Op]


@click.command("viz")
@store_options
@click.argument("technique", required=False)
@click.option(
    "--rule", "rule", help="Show one rule's neighbourhood (uid such as sigma:<id>, or id)."
)
@click.option(
    "--value",
    "value",
    nargs=3,
    metavar="FIELD OP VALUE",
    help="Show the rules behind one indicator; FIELD is canonical (ECS), OP one of "
    + ", ".join(_OPS),
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the page (default: overlap-<what>.html in the current folder).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=2),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Most nodes on the page; the strongest overlaps are kept.",
)
def viz(
    neo4j_uri: str | None,
    user: str,
    password: str | None,
    db_path: Path | None,
    technique: str | None,
    rule: str | None,
    value: tuple[str, str, str] | None,
    output: Path | None,
    limit: int,
) -> None:
    """Draw a technique's rule overlap (TECHNIQUE), a rule's neighbourhood (--rule) or the
    rules behind an indicator (--value) as one HTML page that opens without a network."""
    chosen = [x for x in (technique, rule, value) if x]
    if len(chosen) != 1:
        raise click.UsageError("give exactly one of TECHNIQUE, --rule ID or --value FIELD OP VALUE")
    store = open_from_options(neo4j_uri, user, password, db_path, read_only=True)
    try:
        view = _build(store, technique, rule, value, limit)
    finally:
        store.close()
    target = output or Path(f"overlap-{_slug(technique or rule or ' '.join(value or ()))}.html")
    size = write_page(view, target)
    console.print(f"{target}: {summary_line(view)}; {size / 1e6:.1f} MB", highlight=False)


def _build(
    store: GraphStore,
    technique: str | None,
    rule: str | None,
    value: tuple[str, str, str] | None,
    limit: int,
) -> View:
    if technique:
        return overlap_view(store, technique.upper(), limit)
    if rule:
        return rule_view(store, rule, limit)
    if value is None:
        raise click.UsageError("give exactly one of TECHNIQUE, --rule ID or --value FIELD OP VALUE")
    field_name, op_text, raw = value
    try:
        op = Op(op_text)
    except ValueError:
        raise QueryError(f"unknown operator {op_text!r}; one of {', '.join(_OPS)}") from None
    # Value nodes are keyed case-folded (kg.normalise), so fold what the user typed the same way.
    return value_view(store, field_name, op.value, value_key(op, raw), limit)


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in ".-_" else "-" for c in text)
    return keep.strip("-")[:60] or "view"


COMMANDS = [viz]
