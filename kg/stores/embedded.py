"""The embedded graph store: LadybugDB (a Kùzu fork) in one local file.

Writes go through ``COPY ... FROM $frame`` with a pyarrow Table, which loads
hundreds of thousands of rows a second; row-by-row CREATE would take minutes.
COPY matches the table's columns to the node or relationship table's by position,
so they are built in the order :mod:`kg.schema` declares.  The writer hands over
whole columns (:meth:`EmbeddedStore.write_node_columns`), which skips a dict per
row; ``write_nodes`` / ``write_rels`` take rows as the store protocol says.
Several processes may open the same file with ``read_only=True`` at once; a
writer needs it alone.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
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
        if rows:
            self.write_node_columns(label, _columns(rows, node.columns, label))

    @contextmanager
    def bulk(self) -> Iterator[None]:
        """Many COPYs in a row: one checkpoint at the end instead of one after each.

        The engine checkpoints after every write by default, which costs a build
        of some twenty COPYs about a second.
        """
        self._execute("CALL auto_checkpoint=false", {}, "pause checkpoints")
        try:
            yield
        finally:
            self._execute("CALL auto_checkpoint=true", {}, "resume checkpoints")
        self._execute("CHECKPOINT", {}, "checkpoint")

    def write_node_columns(self, label: str, columns: Sequence[Sequence[Any]]) -> None:
        """Create nodes from one sequence per column of the label, in schema order."""
        node = node_type(label)
        if not columns or not columns[0]:
            return
        frame = _table(columns, node.properties, label)
        self._execute(f"COPY {label} FROM $frame", {"frame": frame}, f"COPY {label}")
        log.debug("copied %d %s nodes", frame.num_rows, label)

    def write_rels(
        self,
        rel_type_name: str,
        src_label: str,
        dst_label: str,
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        rel = rel_type(rel_type_name, src_label, dst_label)
        if rows:
            columns = _columns(rows, ("src", "dst", *rel.columns), rel_type_name)
            self.write_rel_columns(rel_type_name, src_label, dst_label, columns)

    def write_rel_columns(
        self,
        rel_type_name: str,
        src_label: str,
        dst_label: str,
        columns: Sequence[Sequence[Any]],
    ) -> None:
        """Create relationships from columns: source keys, target keys, then the properties."""
        rel = rel_type(rel_type_name, src_label, dst_label)
        if not columns or not columns[0]:
            return
        ends = (("src", schema.STRING), ("dst", schema.STRING))
        frame = _table(columns, (*ends, *rel.properties), rel_type_name)
        options = f"(from='{src_label}', to='{dst_label}')" if len(rel.pairs) > 1 else ""
        self._execute(
            f"COPY {rel_type_name} FROM $frame {options}",
            {"frame": frame},
            f"COPY {rel_type_name} {src_label}->{dst_label}",
        )
        log.debug("copied %d %s relationships", frame.num_rows, rel_type_name)

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


def _columns(
    rows: Sequence[Mapping[str, Any]], columns: Sequence[str], what: str
) -> list[list[Any]]:
    extra = set(rows[0]) - set(columns)
    if extra:
        raise StoreError(f"{what}: rows carry columns the schema lacks: {sorted(extra)}")
    return [[row.get(col) for row in rows] for col in columns]


def _table(
    columns: Sequence[Sequence[Any]], properties: Sequence[tuple[str, str]], what: str
) -> Any:
    """A pyarrow Table typed as the schema declares (list columns may hold tuples)."""
    # pyarrow costs a quarter of a second to import: only a build that writes needs it
    import pyarrow as pa

    types = {
        schema.STRING: pa.string(),
        schema.INT: pa.int64(),
        schema.DOUBLE: pa.float64(),
        schema.BOOL: pa.bool_(),
        schema.STRINGS: pa.list_(pa.string()),
    }
    if len(columns) != len(properties):
        raise StoreError(f"{what}: {len(columns)} columns given, the schema has {len(properties)}")
    try:
        arrays = [
            pa.array(values, type=types[kind])
            for values, (_, kind) in zip(columns, properties, strict=True)
        ]
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StoreError(f"{what}: a value does not fit its column: {exc}") from exc
    return pa.Table.from_arrays(arrays, names=[name for name, _ in properties])


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
