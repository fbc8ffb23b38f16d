"""Reading a condition tree as a detection engineer does.

* indicators: comparisons not under any NOT;
* exclusions: comparisons inside a NOT that is a conjunct of the rule's
  top-level AND (``selection and not filter``), the false-positive paths the
  community has learned;
* negated indicators: comparisons under any other NOT (deeper, or under an OR);
  the rule is flagged ``has_nested_not``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kg.model import And, Comparison, Condition, Not


@dataclass(frozen=True)
class Reading:
    indicators: tuple[Comparison, ...]
    exclusions: tuple[Comparison, ...]
    negated: tuple[Comparison, ...]

    @property
    def has_nested_not(self) -> bool:
        return bool(self.negated)


def comparisons(node: Condition) -> Iterator[Comparison]:
    """Every comparison in the tree, depth first."""
    if isinstance(node, Comparison):
        yield node
    elif isinstance(node, Not):
        yield from comparisons(node.child)
    else:
        for child in node.children:
            yield from comparisons(child)


def _top_conjuncts(node: Condition) -> Iterator[Condition]:
    """The conjuncts of the top-level AND, flattening nested ANDs."""
    if isinstance(node, And):
        for child in node.children:
            yield from _top_conjuncts(child)
    else:
        yield node


def _split(node: Condition, negated: bool, out: tuple[list[Comparison], list[Comparison]]) -> None:
    plain, under_not = out
    if isinstance(node, Comparison):
        (under_not if negated else plain).append(node)
    elif isinstance(node, Not):
        # not (not x) reads as x again
        _split(node.child, not negated, out)
    else:
        for child in node.children:
            _split(child, negated, out)


def read(tree: Condition | None) -> Reading:
    if tree is None:
        return Reading((), (), ())
    indicators: list[Comparison] = []
    exclusions: list[Comparison] = []
    negated: list[Comparison] = []
    for conjunct in _top_conjuncts(tree):
        if isinstance(conjunct, Not) and not isinstance(conjunct.child, Not):
            # a double negation inside an exclusion is an indicator again
            inside_plain: list[Comparison] = []
            inside_neg: list[Comparison] = []
            _split(conjunct.child, False, (inside_plain, inside_neg))
            exclusions.extend(inside_plain)
            negated.extend(inside_neg)
        else:
            _split(conjunct, False, (indicators, negated))
    return Reading(tuple(indicators), tuple(exclusions), tuple(negated))


def positive(node: Condition | None, negated: bool = False) -> Iterator[Comparison]:
    """Comparisons the rule requires to hold: under an even number of NOTs."""
    if node is None:
        return
    if isinstance(node, Comparison):
        if not negated:
            yield node
    elif isinstance(node, Not):
        yield from positive(node.child, not negated)
    else:
        for child in node.children:
            yield from positive(child, negated)
