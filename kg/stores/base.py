"""The one small interface both graph stores implement, and the bulk form the embedded one adds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class ColumnStore(Protocol):
    """A store that also takes whole columns, in schema order (the embedded store's COPY).

    Columns skip the dict per row that :meth:`GraphStore.write_rels` takes; list
    properties may come as tuples.  Relationship columns start with the source and
    target keys.  A batch is written inside :meth:`bulk`.
    """

    def bulk(self) -> AbstractContextManager[None]:
        """Around a whole batch of writes."""
        ...

    def write_node_columns(self, label: str, columns: Sequence[Sequence[Any]]) -> None: ...

    def write_rel_columns(
        self, rel_type: str, src_label: str, dst_label: str, columns: Sequence[Sequence[Any]]
    ) -> None: ...
