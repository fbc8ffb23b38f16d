"""Neo4j Browser support files: the GraSS style sheet check and the favourites.

Neo4j Browser reads a GraSS sheet (drop ``browser/kg.grass`` on the Browser, or ``:style``
followed by its text) with a very small parser, and this checker holds a sheet to the same
limits so that a sheet which passes here is read whole there:

* strings are in single quotes only: Browser's reader also opens a string at a double
  quote, but kg's sheet keeps to one quoting so the two readers cannot disagree;
* each declaration is split at ``;`` and then at ``:``, so a value may not hold ``:``;
* selectors are ``node``, ``relationship``, ``node.<Label>`` or ``relationship.<TYPE>``;
  where several rules match one node, later rules win, so the vendor labels (:Sigma,
  :Elastic, :Splunk, which the writer adds to Rule nodes on Neo4j) come after ``node.Rule``;
* a caption names properties as ``{property}`` (several may be joined) or ``<id>``,
  ``<type>``; every named property must exist on the label in :mod:`kg.schema`.

Favourites are ``.cypher`` files that Browser imports (Favorites, Import): a first comment
line that becomes the favourite's name, ``:param`` lines with sample values, then the
canned query.  They are generated from ``cypher/viz_*_graph.cypher`` so they cannot drift.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kg import schema
from kg.errors import KgError

#: Labels the Neo4j writer adds beside :Rule, one per vendor, so that GraSS can colour them.
VENDOR_LABELS = schema.VENDOR_LABELS

_NODE_PROPS = {
    "color",
    "border-color",
    "border-width",
    "text-color-internal",
    "diameter",
    "font-size",
    "caption",
}
_REL_PROPS = {
    "color",
    "shaft-width",
    "font-size",
    "padding",
    "text-color-external",
    "text-color-internal",
    "caption",
}
_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_PIXELS = re.compile(r"^\d+(?:\.\d+)?px$")
_SELECTOR = re.compile(r"^(node|relationship)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$")
_CAPTION_PART = re.compile(r"\{([^{}]*)\}|<(id|type)>")


class GrassError(KgError):
    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class GrassRule:
    selector: str
    props: tuple[tuple[str, str], ...]
    line: int


def parse_grass(text: str, where: str = "kg.grass") -> list[GrassRule]:
    """The sheet's rules in order; a GrassError names the line of the first problem."""
    rules: list[GrassRule] = []
    selector, body, start = "", "", 1
    in_block = in_string = False
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        if char == "'":
            in_string = not in_string
        elif char == '"' and in_block:
            raise GrassError(
                f"{where}:{line}", "double quote: kg sheets quote strings with single quotes only"
            )
        elif char == "{" and not in_string:
            if in_block:
                raise GrassError(f"{where}:{line}", "'{' inside a block (quote the caption)")
            in_block, start = True, line
            continue
        elif char == "}" and not in_string:
            if not in_block:
                raise GrassError(f"{where}:{line}", "'}' without a block")
            rules.append(_rule(selector.strip(), body, start, where))
            selector, body, in_block = "", "", False
            continue
        if in_block:
            body += char
        else:
            selector += char
    if in_block or in_string or selector.strip():
        raise GrassError(f"{where}:{line}", "the sheet ends inside a block, string or selector")
    return rules


def _rule(selector: str, body: str, line: int, where: str) -> GrassRule:
    if not _SELECTOR.match(selector):
        raise GrassError(f"{where}:{line}", f"bad selector {selector!r}")
    props = []
    for decl in body.split(";"):
        if not decl.strip():
            continue
        parts = decl.split(":")
        if len(parts) != 2:
            raise GrassError(f"{where}:{line}", f"{selector}: {decl.strip()!r} is not 'key: value'")
        props.append((parts[0].strip(), parts[1].strip()))
    return GrassRule(selector, tuple(props), line)


def check_grass(text: str, where: str = "kg.grass") -> list[GrassRule]:
    """Parse and check every declaration against Browser's properties and kg's schema."""
    rules = parse_grass(text, where)
    for rule in rules:
        tag, _, label = rule.selector.partition(".")
        allowed = _NODE_PROPS if tag == "node" else _REL_PROPS
        if label and tag == "node" and _properties_of(label) is None:
            raise GrassError(f"{where}:{rule.line}", f"label {label!r} is not in kg.schema")
        if label and tag == "relationship" and label not in schema.REL_BY_NAME:
            raise GrassError(f"{where}:{rule.line}", f"type {label!r} is not in kg.schema")
        for key, value in rule.props:
            if key not in allowed:
                raise GrassError(
                    f"{where}:{rule.line}", f"{rule.selector}: unknown property {key!r}"
                )
            _check_value(rule, key, value, label if tag == "node" else "", where)
    return rules


def _check_value(rule: GrassRule, key: str, value: str, label: str, where: str) -> None:
    here = f"{where}:{rule.line}"
    if "color" in key and not _COLOUR.match(value):
        raise GrassError(here, f"{rule.selector}: {key} {value!r} is not a #hex colour")
    sized = key in ("diameter", "border-width", "font-size", "shaft-width", "padding")
    if sized and not _PIXELS.match(value):
        raise GrassError(here, f"{rule.selector}: {key} {value!r} is not a size in px")
    if key == "caption":
        if not (value.startswith("'") and value.endswith("'") and len(value) >= 2):
            raise GrassError(here, f"{rule.selector}: caption must be in single quotes")
        known = _properties_of(label) if label else None
        for prop, special in _CAPTION_PART.findall(value[1:-1]):
            if special or known is None:
                continue
            if prop not in known:
                raise GrassError(
                    here, f"{rule.selector}: caption names {prop!r}, not a {label} property"
                )


def _properties_of(label: str) -> tuple[str, ...] | None:
    if label in VENDOR_LABELS.values():
        label = "Rule"
    node = schema.NODE_BY_LABEL.get(label)
    return node.columns if node else None


def cypher_literal(value: Any) -> str:
    """A sample parameter value written as a Cypher literal for a ``:param`` line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise TypeError(f"no Cypher literal for {type(value).__name__}")


#: The Browser favourites: file stem → (title, canned query, sample params).
FAVOURITES: dict[str, tuple[str, str, Mapping[str, Any]]] = {
    "kg-overlap": (
        "kg: rule overlap of a technique",
        "viz_overlap_graph",
        {"technique": "T1059.006", "limit": 25},
    ),
    "kg-value": (
        "kg: rules behind an indicator",
        "viz_value_graph",
        {"field": "process.name", "op": "eq", "value": "python.exe", "limit": 50},
    ),
    "kg-rule": (
        "kg: a rule's neighbourhood",
        "viz_rule_graph",
        {"rule": "sigma:50a0aa3d-ab16-4594-a8aa-5145a6e6792b", "limit": 15},
    ),
}


def favourite_text(stem: str) -> str:
    """The favourite ``browser/favourites/<stem>.cypher``: the query alone.

    Browser runs a favourite that mixes ``:param`` lines with a query as a
    multi-statement script and then shows statement summaries, not the graph; so
    the parameters live in a favourite of their own (:func:`params_text`).
    """
    from kg import cypher

    title, name, params = FAVOURITES[stem]
    query = cypher.load(name)
    query.bind(params)
    lines = [f"// {title}", f"// Set the parameters first: run the favourite {stem}-params."]
    return "\n".join(lines) + "\n" + query.text.rstrip() + "\n"


def params_text(stem: str) -> str:
    """The favourite ``browser/favourites/<stem>-params.cypher``: ``:param`` lines to edit."""
    title, _, params = FAVOURITES[stem]
    lines = [f"// {title}: parameters", f"// Edit the values, run, then run the favourite {stem}."]
    # ``=>`` makes Browser evaluate the value as Cypher, so 25 stays an integer (LIMIT
    # refuses the float that ``:params {limit: 25}`` would store)
    lines += [f":param {key} => {cypher_literal(value)};" for key, value in params.items()]
    return "\n".join(lines) + "\n"


def favourite_files() -> dict[str, str]:
    """Every favourite file name under ``browser/favourites/`` and its text."""
    files = {}
    for stem in sorted(FAVOURITES):
        files[f"{stem}.cypher"] = favourite_text(stem)
        files[f"{stem}-params.cypher"] = params_text(stem)
    return files
