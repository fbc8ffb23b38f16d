"""The embedded graph store: LadybugDB (a Kùzu fork) in one local file.

Writes go through ``COPY ... FROM $frame`` with a pandas DataFrame, which loads
hundreds of thousands of rows a second; row-by-row CREATE would take minutes.
COPY matches DataFrame columns to table columns by position, so frames are built
in the order :mod:`kg.schema` declares.  Several processes may open the same file
with ``read_only=True`` at once; a writer needs it alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import ladybug

from kg import schema
from kg.cypher import translate
from kg.errors import StoreError
from kg.stores import describe_query, node_type, rel_type
from kg.stores.base import Row

log = logging.getLogger(__name__)


class EmbeddedStore:
    """A :class:`kg.stores.base.GraphStore` over a LadybugDB database file."""

    name = "embedded"

    def __init__(self, path: str | Path, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise StoreError(f"{self.path}: no embedded graph here; build it first")
        self._db: ladybug.Database | None = None
        self._conn: ladybug.Connection | None = None
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = ladybug.Database(str(self.path), read_only=self.read_only)
            self._conn = ladybug.Connection(self._db)
        except RuntimeError as exc:
            raise StoreError(
                f"{self.path}: cannot open the embedded graph: {_first_line(exc)}"
            ) from exc

    @property
    def conn(self) -> ladybug.Connection:
        if self._conn is None:
            raise StoreError(f"{self.path}: the embedded store is closed")
        return self._conn

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        text = translate(query, "embedded")
        result = self._execute(text, dict(params or {}), describe_query(query))
        if isinstance(result, list):
            result = result[-1]
        columns = result.get_column_names()
        return [
            {col: plain(value) for col, value in zip(columns, values, strict=True)}
            for values in result.get_all()
        ]

    def _execute(self, text: str, params: dict[str, Any], what: str) -> Any:
        try:
            return self.conn.execute(text, params)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise StoreError(f"embedded store, {what}: {_first_line(exc)}") from exc

    def reset(self) -> None:
        """Remove the database files and lay the schema of :mod:`kg.schema`."""
        if self.read_only:
            raise StoreError(f"{self.path}: opened read-only, cannot reset")
        self.close()
        for leftover in _database_files(self.path):
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()
        self._open()
        for statement in schema_statements():
            self._execute(statement, {}, statement.split("(", 1)[0])
        log.debug("laid the schema in %s", self.path)

    def write_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        node = node_type(label)
        if not rows:
            return
        frame = _frame(rows, node.columns, label)
        self._execute(f"COPY {label} FROM $frame", {"frame": frame}, f"COPY {label}")
        log.debug("copied %d %s nodes", len(frame), label)

    def write_rels(
        self,
        rel_type_name: str,
        src_label: str,
        dst_label: str,
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        rel = rel_type(rel_type_name, src_label, dst_label)
        if not rows:
            return
        frame = _frame(rows, ("src", "dst", *rel.columns), rel_type_name)
        options = f"(from='{src_label}', to='{dst_label}')" if len(rel.pairs) > 1 else ""
        self._execute(
            f"COPY {rel_type_name} FROM $frame {options}",
            {"frame": frame},
            f"COPY {rel_type_name} {src_label}->{dst_label}",
        )
        log.debug("copied %d %s relationships", len(frame), rel_type_name)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._db is not None:
            self._db.close()
        self._conn = None
        self._db = None


def schema_statements() -> list[str]:
    """CREATE NODE TABLE / CREATE REL TABLE statements for every type in :mod:`kg.schema`."""
    statements = []
    for node in schema.NODES:
        columns = ", ".join(f"{name} {kind}" for name, kind in node.properties)
        statements.append(f"CREATE NODE TABLE {node.label}({columns}, PRIMARY KEY({node.key}))")
    for rel in schema.RELS:
        pairs = ", ".join(f"FROM {src} TO {dst}" for src, dst in rel.pairs)
        props = "".join(f", {name} {kind}" for name, kind in rel.properties)
        statements.append(f"CREATE REL TABLE {rel.name}({pairs}{props})")
    return statements


def _frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], what: str) -> Any:
    # pandas costs a third of a second to import: only a build that writes needs it
    import pandas as pd

    extra = set(rows[0]) - set(columns)
    if extra:
        raise StoreError(f"{what}: rows carry columns the schema lacks: {sorted(extra)}")
    return pd.DataFrame([[row.get(col) for col in columns] for row in rows], columns=columns)


def _database_files(path: Path) -> list[Path]:
    siblings = path.parent.glob(f"{path.name}.*") if path.parent.exists() else []
    return [p for p in (path, *siblings) if p.exists()]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def plain(value: Any) -> Any:
    """A result value as plain Python: Decimal to int/float, nodes and edges to dicts."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return _graph_value(value)
    return value


def _graph_value(value: dict[str, Any]) -> dict[str, Any]:
    # Nodes and relationships arrive as dicts with upper-case bookkeeping keys; they
    # leave as {"_id", "_label"[, "_src", "_dst"], properties...}, as Neo4jStore gives.
    if "_NODES" in value and "_RELS" in value:
        return {"nodes": plain(value["_NODES"]), "rels": plain(value["_RELS"])}
    if "_LABEL" not in value:
        return {key: plain(item) for key, item in value.items()}
    out: dict[str, Any] = {"_id": _internal_id(value.get("_ID")), "_label": value["_LABEL"]}
    if "_SRC" in value:
        out["_src"] = _internal_id(value["_SRC"])
        out["_dst"] = _internal_id(value["_DST"])
    for key, item in value.items():
        if not key.startswith("_"):
            out[key] = plain(item)
    return out


def _internal_id(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('table')}:{value.get('offset')}"
    return str(value)
