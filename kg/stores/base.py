"""The one small interface both graph stores implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Row = dict[str, Any]


class GraphStore(Protocol):
    """A property graph that runs kg's Cypher.

    ``run`` takes a query and its parameters and returns plain Python rows
    (str, int, float, bool, None, lists of those); values are never spliced into
    the query text.  Writes go through ``write_nodes`` / ``write_rels`` in
    batches, after ``reset`` has laid the schema of :mod:`kg.schema`.
    """

    name: str  # "embedded" or "neo4j"

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a read-only query; Cypher goes through kg.cypher.translate first."""
        ...

    def reset(self) -> None:
        """Drop everything and lay the schema afresh."""
        ...

    def write_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Create nodes; every row has every column of the label, key first."""
        ...

    def write_rels(
        self,
        rel_type: str,
        src_label: str,
        dst_label: str,
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        """Create relationships; rows hold ``src`` and ``dst`` keys and the properties."""
        ...

    def close(self) -> None: ...
