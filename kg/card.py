"""Rendering a technique card: rich tables for the terminal, Markdown, and JSON.

Sections come in one order everywhere: events, fields, indicators, exclusions, rules,
totals.  Every rule is shown with its author and link, as the rule licences ask (Sigma's
DRL requires credit).  The JSON has exactly the top-level keys of :data:`JSON_KEYS`, and
its lists keep the order of the queries (count descending, ties by name), so the same
graph gives the same JSON on both stores.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from kg.api import CardField, Indicator, RuleRef, TechniqueCard

JSON_KEYS = ("technique", "events", "fields", "indicators", "exclusions", "rules", "totals")
FORMATS = ("table", "markdown", "json")


# --- JSON -----------------------------------------------------------------------------


def card_to_dict(card: TechniqueCard) -> dict[str, Any]:
    """The card as plain data with exactly the keys of :data:`JSON_KEYS`."""
    tech = card.technique
    return {
        "technique": {
            "id": tech.id,
            "name": tech.name,
            "tactics": list(tech.tactics),
            "platforms": list(tech.platforms),
            "attack_version": tech.attack_version,
        },
        "events": [
            {"provider": e.provider, "event_id": e.event_id, "title": e.title, "rules": e.rules}
            for e in card.events
        ],
        "fields": [_field_dict(f) for f in card.fields],
        "indicators": [_indicator_dict(i) for i in card.indicators],
        "exclusions": [_indicator_dict(i) for i in card.exclusions],
        "rules": {
            vendor: [_rule_dict(r) for r in rules]
            for vendor, rules in card.rules_by_vendor().items()
        },
        "totals": {
            "rules": card.totals.rules,
            "events": card.totals.events,
            "fields": card.totals.fields,
            "indicators": card.totals.indicators,
            "exclusions": card.totals.exclusions,
        },
    }


def card_to_json(card: TechniqueCard) -> str:
    return json.dumps(card_to_dict(card), indent=2, ensure_ascii=False)


def _field_dict(field: CardField) -> dict[str, Any]:
    return {
        "field": field.field,
        "native": {vendor: list(names) for vendor, names in field.native},
        "ops": dict(field.ops),
        "samples": list(field.samples),
        "rules": field.rules,
    }


def _indicator_dict(ind: Indicator) -> dict[str, Any]:
    return {
        "field": ind.field,
        "op": ind.op,
        "value": ind.value,
        "rules": ind.rules,
        "corpus_reach": ind.corpus_reach,
    }


def _rule_dict(rule: RuleRef) -> dict[str, Any]:
    # author rides along with the link: the rule licences ask for credit with the content
    return {
        "id": rule.id,
        "title": rule.title,
        "status": rule.status,
        "level": rule.level,
        "url": rule.url,
        "deprecated": rule.deprecated,
        "author": rule.author,
    }


# --- shared cell text -------------------------------------------------------------------


def _natives_text(field: CardField) -> str:
    return "; ".join(f"{vendor}: {', '.join(names)}" for vendor, names in field.native)


def _ops_text(field: CardField) -> str:
    return ", ".join(f"{op} ({rules})" for op, rules in field.ops)


def _reach_text(ind: Indicator) -> str:
    return f"{ind.corpus_reach} (specific)" if ind.specific else str(ind.corpus_reach)


def _title(card: TechniqueCard) -> str:
    tech = card.technique
    scope = []
    if card.include_subtechniques and not tech.is_subtechnique:
        scope.append("with sub-techniques")
    scope.append("deprecated rules included" if card.include_deprecated else "no deprecated rules")
    return f"{tech.id} {tech.name} ({', '.join(scope)})"


def _header_lines(card: TechniqueCard) -> list[str]:
    tech = card.technique
    lines = [
        f"tactics: {', '.join(tech.tactics) or '-'}",
        f"platforms: {', '.join(tech.platforms) or '-'}",
        f"ATT&CK: {tech.attack_version or '-'}  {tech.url}".rstrip(),
    ]
    if not tech.known:
        lines.append("not in the loaded ATT&CK version (tagged by rules only)")
    if tech.revoked or tech.deprecated:
        lines.append("revoked or deprecated in ATT&CK")
    return lines


def _totals_pairs(card: TechniqueCard) -> list[tuple[str, int]]:
    t = card.totals
    return [
        ("rules", t.rules),
        ("deprecated rules", t.deprecated_rules),
        ("events", t.events),
        ("fields", t.fields),
        ("indicators", t.indicators),
        ("exclusions", t.exclusions),
    ]


# --- rich tables ------------------------------------------------------------------------


def render_card(card: TechniqueCard, console: Console) -> None:
    """Print the card as rich tables, one per section."""
    console.rule(Text(_title(card)))
    for line in _header_lines(card):
        console.print(Text(line))
    for table in (
        _events_table(card),
        _fields_table(card),
        _indicator_table("indicators", card.indicators),
        _indicator_table("exclusions", card.exclusions),
        *_rule_tables(card),
        _totals_table(card),
    ):
        console.print(table)


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=False)
    for name in columns:
        justify: JustifyMethod = "right" if name in ("rules", "reach") else "left"
        table.add_column(name, justify=justify, overflow="fold")
    return table


def _row(table: Table, *cells: object) -> None:
    # Text cells: values such as "[...]" must not be read as rich markup
    table.add_row(*(Text("" if c is None else str(c)) for c in cells))


def _events_table(card: TechniqueCard) -> Table:
    table = _table("events", "provider", "event", "title", "rules", "vendors", "ATT&CK expects")
    for e in card.events:
        _row(
            table,
            e.provider,
            e.event_id,
            e.title,
            e.rules,
            ", ".join(e.vendors),
            "yes" if e.expected else "",
        )
    return table


def _fields_table(card: TechniqueCard) -> Table:
    table = _table("fields", "field", "native names", "ops (rules)", "samples", "rules")
    for f in card.fields:
        name = f.field if f.mapped else f"{f.field} (unmapped)"
        _row(table, name, _natives_text(f), _ops_text(f), ", ".join(f.samples), f.rules)
    return table


def _indicator_table(title: str, rows: tuple[Indicator, ...]) -> Table:
    table = _table(title, "field", "op", "value", "rules", "reach", "vendors")
    for ind in rows:
        _row(
            table, ind.field, ind.op, ind.value, ind.rules, _reach_text(ind), ", ".join(ind.vendors)
        )
    return table


def _rule_tables(card: TechniqueCard) -> list[Table]:
    tables = []
    for vendor, rules in card.rules_by_vendor().items():
        table = _table(
            f"rules: {vendor} ({len(rules)})", "id", "title", "status", "level", "author", "link"
        )
        for r in rules:
            title = f"{r.title} [deprecated]" if r.deprecated else r.title
            _row(table, r.id, title, r.status, r.level, r.author, r.url)
        tables.append(table)
    return tables


def _totals_table(card: TechniqueCard) -> Table:
    table = _table("totals", "what", "rules")
    for name, count in _totals_pairs(card):
        _row(table, name, count)
    return table


# --- Markdown ---------------------------------------------------------------------------


def card_to_markdown(card: TechniqueCard) -> str:
    """The card as GitHub-flavoured Markdown, sections in the card's order."""
    out = [f"# {_md(_title(card))}", ""]
    out += [f"- {_md(line)}" for line in _header_lines(card)] + [""]
    out += _md_section(
        "Events",
        ["provider", "event", "title", "rules", "vendors", "ATT&CK expects"],
        [
            [
                e.provider,
                e.event_id,
                e.title,
                e.rules,
                ", ".join(e.vendors),
                "yes" if e.expected else "",
            ]
            for e in card.events
        ],
    )
    out += _md_section(
        "Fields",
        ["field", "native names", "ops (rules)", "samples", "rules"],
        [
            [
                f.field,
                _natives_text(f),
                _ops_text(f),
                ", ".join(f"`{s}`" for s in f.samples),
                f.rules,
            ]
            for f in card.fields
        ],
    )
    for title, rows in (("Indicators", card.indicators), ("Exclusions", card.exclusions)):
        out += _md_section(
            title,
            ["field", "op", "value", "rules", "corpus reach", "vendors"],
            [
                [i.field, i.op, f"`{i.value}`", i.rules, _reach_text(i), ", ".join(i.vendors)]
                for i in rows
            ],
        )
    out += ["## Rules", ""]
    for vendor, rules in card.rules_by_vendor().items():
        out += _md_section(
            f"{vendor} ({len(rules)})",
            ["id", "title", "status", "level", "author", "link"],
            [
                [
                    r.id,
                    f"{r.title} (deprecated)" if r.deprecated else r.title,
                    r.status,
                    r.level,
                    r.author,
                    f"<{r.url}>" if r.url else "",
                ]
                for r in rules
            ],
            level="###",
        )
    out += _md_section("Totals", ["what", "count"], [list(p) for p in _totals_pairs(card)])
    return "\n".join(out).rstrip() + "\n"


def _md_section(
    title: str, header: list[str], rows: list[list[object]], level: str = "##"
) -> list[str]:
    lines = [f"{level} {title}", ""]
    if not rows:
        return lines + ["(none)", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(_md(cell) for cell in row) + " |")
    return lines + [""]


def _md(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return text.replace("|", "\\|").replace("\n", " ")
