"""The ATT&CK Navigator export, checked against the layer format 4.5 specification
(mitre-attack/attack-navigator, layers/spec/v4.5/layerformat.md): required keys, types and
allowed values, written out here from the specification's property tables."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from kg import navigator
from kg.api import KnowledgeBase, TechniqueCoverage
from tests.fixtures import mini_graph as mg

NUMBER = (int, float)
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")

#: layer property -> (type, required)
LAYER_PROPS: dict[str, tuple[Any, bool]] = {
    "versions": (dict, False),
    "name": (str, True),
    "description": (str, False),
    "domain": (str, True),
    "customDataURL": (str, False),
    "filters": (dict, False),
    "sorting": (int, False),
    "layout": (dict, False),
    "hideDisabled": (bool, False),
    "techniques": (list, False),
    "gradient": (dict, False),
    "legendItems": (list, False),
    "showTacticRowBackground": (bool, False),
    "tacticRowBackground": (str, False),
    "selectTechniquesAcrossTactics": (bool, False),
    "selectSubtechniquesWithParent": (bool, False),
    "selectVisibleTechniques": (bool, False),
    "metadata": (list, False),
    "links": (list, False),
}
TECHNIQUE_PROPS: dict[str, tuple[Any, bool]] = {
    "techniqueID": (str, True),
    "tactic": (str, False),
    "comment": (str, False),
    "enabled": (bool, False),
    "score": (NUMBER, False),
    "color": (str, False),
    "metadata": (list, False),
    "links": (list, False),
    "showSubtechniques": (bool, False),
}
VERSION_PROPS = {"attack": (str, False), "navigator": (str, True), "layer": (str, True)}
GRADIENT_PROPS = {"colors": (list, True), "minValue": (NUMBER, True), "maxValue": (NUMBER, True)}
LEGEND_PROPS = {"label": (str, True), "color": (str, True)}
LAYOUT_PROPS = {
    "layout": (str, False),
    "showID": (bool, False),
    "showName": (bool, False),
    "showAggregateScores": (bool, False),
    "countUnscored": (bool, False),
    "aggregateFunction": (str, False),
    "expandedSubtechniques": (str, False),
}


def _check(obj: Any, props: dict[str, tuple[Any, bool]], where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: not an object"]
    problems = [f"{where}: unknown key {k!r}" for k in obj if k not in props]
    for key, (typ, required) in props.items():
        if key not in obj:
            if required:
                problems.append(f"{where}: missing {key!r}")
            continue
        value = obj[key]
        # a bool is an int in Python, never a number in JSON
        if not isinstance(value, typ) or (typ is not bool and isinstance(value, bool)):
            problems.append(f"{where}.{key}: {type(value).__name__} is not {typ}")
    return problems


def _metadata_problems(items: list[Any], where: str) -> list[str]:
    problems = []
    for i, item in enumerate(items):
        if "divider" in item:
            problems += _check(item, {"divider": (bool, True)}, f"{where}[{i}]")
        else:
            problems += _check(item, {"name": (str, True), "value": (str, True)}, f"{where}[{i}]")
    return problems


def layer_problems(layer: dict[str, Any]) -> list[str]:
    """Everything in ``layer`` that the 4.5 specification does not allow."""
    problems = _check(layer, LAYER_PROPS, "layer")
    if layer.get("domain") not in ("enterprise-attack", "mobile-attack", "ics-attack"):
        problems.append(f"layer.domain: {layer.get('domain')!r}")
    versions = layer.get("versions", {})
    problems += _check(versions, VERSION_PROPS, "versions")
    if versions.get("layer") != "4.5":
        problems.append("versions.layer must be '4.5'")
    nav = tuple(int(p) for p in str(versions.get("navigator", "0")).split("."))
    if nav < (4, 9, 0):
        problems.append("versions.navigator must be at least 4.9.0")
    if layer.get("sorting", 0) not in (0, 1, 2, 3):
        problems.append("layer.sorting must be 0-3")
    layout = layer.get("layout", {})
    problems += _check(layout, LAYOUT_PROPS, "layout")
    if layout.get("layout", "side") not in ("side", "flat", "mini"):
        problems.append("layout.layout must be side, flat or mini")
    if layout.get("expandedSubtechniques", "none") not in ("none", "all", "annotated"):
        problems.append("layout.expandedSubtechniques must be none, all or annotated")
    gradient = layer.get("gradient")
    if gradient is not None:
        problems += _check(gradient, GRADIENT_PROPS, "gradient")
        colors = gradient.get("colors", [])
        if len(colors) < 2 or not all(isinstance(c, str) and HEX.match(c) for c in colors):
            problems.append("gradient.colors: at least two #rrggbb colours")
        if not gradient.get("maxValue", 0) > gradient.get("minValue", 0):
            problems.append("gradient.maxValue must be > minValue")
    for i, item in enumerate(layer.get("legendItems", [])):
        problems += _check(item, LEGEND_PROPS, f"legendItems[{i}]")
    problems += _metadata_problems(layer.get("metadata", []), "metadata")
    for i, tech in enumerate(layer.get("techniques", [])):
        where = f"techniques[{i}]"
        problems += _check(tech, TECHNIQUE_PROPS, where)
        if not TECHNIQUE_ID.match(str(tech.get("techniqueID", ""))):
            problems.append(f"{where}.techniqueID: {tech.get('techniqueID')!r}")
        if "color" in tech and not HEX.match(tech["color"]):
            problems.append(f"{where}.color: {tech['color']!r}")
        problems += _metadata_problems(tech.get("metadata", []), f"{where}.metadata")
    return problems


@pytest.fixture
def kb(store):
    mg.write_mini_graph(store)
    return KnowledgeBase(store)


def test_layer_from_the_mini_graph_follows_the_format(kb):
    layer = navigator.coverage_layer(kb.coverage_techniques(), name="mini coverage")
    assert layer_problems(layer) == []
    assert layer["versions"] == {"attack": "18", "navigator": "5.1.0", "layer": "4.5"}
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert set(by_id) == {"T1003", "T1003.001", "T1059", "T1059.006", "T1547", "T1547.001"}
    assert by_id["T1059.006"]["score"] == 3  # s3 is deprecated
    assert by_id["T1059.006"]["comment"] == "3 rules: elastic, sigma, splunk"
    assert by_id["T1003.001"]["color"] == navigator.UNCOVERED_COLOR
    assert "score" not in by_id["T1003.001"]
    # parents with a covered sub-technique open it by default
    assert by_id["T1059"]["showSubtechniques"] is True
    assert by_id["T1547"]["showSubtechniques"] is True
    assert "showSubtechniques" not in by_id["T1003"]
    # scores 1, 1, 2, 3: the gradient tops out at the 90th percentile
    assert layer["gradient"]["maxValue"] == 2


def test_layer_scored_by_vendors(kb):
    layer = navigator.coverage_layer(kb.coverage_techniques(), name="v", score="vendors")
    by_id = {t["techniqueID"]: t for t in layer["techniques"]}
    assert (by_id["T1059.006"]["score"], by_id["T1003"]["score"]) == (3, 2)
    assert layer_problems(layer) == []


def test_layer_with_nothing_covered_keeps_a_valid_gradient():
    rows = (TechniqueCoverage("T1547", "Boot", False, "", 0, (), ("persistence",)),)
    layer = navigator.coverage_layer(rows, name="empty")
    assert layer_problems(layer) == []
    assert layer["gradient"]["maxValue"] > layer["gradient"]["minValue"]


def test_layer_json_round_trips():
    rows = (TechniqueCoverage("T1059", "CSI", False, "", 2, ("sigma",), ("execution",)),)
    layer = navigator.coverage_layer(rows, name="one")
    assert json.loads(navigator.layer_to_json(layer)) == layer


def test_the_checker_catches_a_broken_layer():
    broken = {
        "name": 1,
        "domain": "mitre-enterprise",
        "versions": {"layer": "4.4"},
        "techniques": [{"techniqueID": "1059", "score": True, "colour": "red"}],
        "gradient": {"colors": ["#ffffff"], "minValue": 5, "maxValue": 5},
    }
    problems = "\n".join(layer_problems(broken))
    for expected in (
        "layer.name",
        "layer.domain",
        "missing 'navigator'",
        "versions.layer",
        "techniqueID",
        "techniques[0].score",
        "unknown key 'colour'",
        "gradient.colors",
        "maxValue must be > minValue",
    ):
        assert expected in problems
