"""The Neo4j 5 graph store, through the official driver.

Queries run in read transactions; writes go in batches of ``UNWIND $rows``.
Labels, relationship types and property names cannot be parameters in Cypher, so
every one that is spliced into a query goes through :func:`quote` and comes from
:mod:`kg.schema`, never from input.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import neo4j
from neo4j.exceptions import AuthError, Neo4jError, ServiceUnavailable
from neo4j.graph import Node, Path, Relationship

from kg import schema
from kg.cypher import translate
from kg.errors import StoreAuthError, StoreError
from kg.stores import describe_query, node_type, rel_type
from kg.stores.base import Row

log = logging.getLogger(__name__)

BATCH = 10_000


def quote(name: str) -> str:
    """A label, type or property name as a Cypher identifier (backticks doubled)."""
    return "`" + name.replace("`", "``") + "`"


class Neo4jStore:
    """A :class:`kg.stores.base.GraphStore` on a Neo4j 5 server."""

    name = "neo4j"

    def __init__(self, uri: str, user: str, password: str, database: str | None = None) -> None:
        self.uri = uri
        self.database = database
        try:
            self._driver = neo4j.GraphDatabase.driver(uri, auth=(user, password))
            self._driver.verify_connectivity()
        except AuthError:
            self._close_quietly()
            raise StoreAuthError(
                f"{uri}: Neo4j refused user {user!r}: wrong user or password"
            ) from None
        except (ServiceUnavailable, OSError, ValueError, Neo4jError) as exc:
            self._close_quietly()
            raise StoreError(f"{uri}: cannot reach Neo4j: {_first_line(exc)}") from None

    def _close_quietly(self) -> None:
        driver = getattr(self, "_driver", None)
        if driver is not None:
            driver.close()

    def _session(self) -> neo4j.Session:
        return self._driver.session(database=self.database)

    def run(self, query: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        text = translate(query, "neo4j")
        values = dict(params or {})

        def work(tx: neo4j.ManagedTransaction) -> list[Row]:
            result = tx.run(text, values)
            # neo4j leaves Record.items unannotated (it gives the (key, value) pairs)
            return [
                {key: plain(value) for key, value in record.items()}  # type: ignore[no-untyped-call]
                for record in result
            ]

        with self._session() as session:
            try:
                return session.execute_read(work)
            except Neo4jError as exc:
                raise StoreError(f"neo4j, {describe_query(query)}: {_message(exc)}") from None
            except ServiceUnavailable as exc:
                raise StoreError(f"{self.uri}: Neo4j went away: {_first_line(exc)}") from None

    def _write(self, text: str, params: Mapping[str, Any] | None, what: str) -> list[Any]:
        with self._session() as session:
            try:
                result = session.run(text, dict(params or {}))
                return [record.values() for record in result]
            except Neo4jError as exc:
                raise StoreError(f"neo4j, {what}: {_message(exc)}") from None
            except ServiceUnavailable as exc:
                raise StoreError(f"{self.uri}: Neo4j went away: {_first_line(exc)}") from None

    def reset(self) -> None:
        """Delete every node in batches, drop kg's old schema and lay the current one."""
        self._write(
            "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS",
            None,
            "delete everything",
        )
        for (name,) in self._write("SHOW CONSTRAINTS YIELD name", None, "list constraints"):
            self._write(f"DROP CONSTRAINT {quote(name)} IF EXISTS", None, f"drop {name}")
        indexes = self._write(
            "SHOW INDEXES YIELD name, type WHERE type <> 'LOOKUP' RETURN name", None, "indexes"
        )
        for (name,) in indexes:
            self._write(f"DROP INDEX {quote(name)} IF EXISTS", None, f"drop {name}")
        for statement in schema_statements():
            self._write(statement, None, statement.split(" FOR ", 1)[0])
        self._write("CALL db.awaitIndexes(300)", None, "wait for indexes")
        log.debug("laid the schema on %s", self.uri)

    def write_nodes(self, label: str, rows: Sequence[Mapping[str, Any]]) -> None:
        node = node_type(label)
        columns = set(node.columns)
        text = f"UNWIND $rows AS row CREATE (n:{quote(label)}) SET n = row"
        for start in range(0, len(rows), BATCH):
            batch = [_props(row, columns, label) for row in rows[start : start + BATCH]]
            self._write(text, {"rows": batch}, f"write {label} nodes")
        if label == "Rule":
            for vendor, vendor_label in schema.VENDOR_LABELS.items():
                self._write(
                    f"MATCH (n:Rule) WHERE n.vendor = $vendor SET n:{quote(vendor_label)}",
                    {"vendor": vendor},
                    f"label {vendor} rules",
                )
        log.debug("wrote %d %s nodes", len(rows), label)

    def write_rels(
        self,
        rel_type_name: str,
        src_label: str,
        dst_label: str,
        rows: Sequence[Mapping[str, Any]],
    ) -> None:
        rel = rel_type(rel_type_name, src_label, dst_label)
        src, dst = node_type(src_label), node_type(dst_label)
        columns = set(rel.columns)
        text = (
            f"UNWIND $rows AS row "
            f"MATCH (a:{quote(src_label)} {{{quote(src.key)}: row.src}}) "
            f"MATCH (b:{quote(dst_label)} {{{quote(dst.key)}: row.dst}}) "
            f"CREATE (a)-[r:{quote(rel_type_name)}]->(b) SET r = row.props "
            f"RETURN count(r) AS created"
        )
        what = f"write {rel_type_name} {src_label}->{dst_label}"
        for start in range(0, len(rows), BATCH):
            batch = [
                {"src": row["src"], "dst": row["dst"], "props": _props(row, columns, what)}
                for row in rows[start : start + BATCH]
            ]
            created = self._write(text, {"rows": batch}, what)[0][0]
            if created != len(batch):
                # The embedded store's COPY refuses a missing endpoint; so must this one.
                raise StoreError(
                    f"neo4j, {what}: {len(batch) - created} of {len(batch)} rows name a "
                    f"{src_label} or {dst_label} that does not exist"
                )
        log.debug("wrote %d %s relationships", len(rows), rel_type_name)

    def close(self) -> None:
        self._driver.close()


def schema_statements() -> list[str]:
    """Uniqueness constraints on every label's key and the declared indexes."""
    statements = []
    for node in schema.NODES:
        label, key = quote(node.label), quote(node.key)
        statements.append(
            f"CREATE CONSTRAINT {quote(f'kg_{node.label}_{node.key}')} IF NOT EXISTS "
            f"FOR (n:{label}) REQUIRE n.{key} IS UNIQUE"
        )
        for prop in node.indexes:
            statements.append(
                f"CREATE INDEX {quote(f'kg_{node.label}_{prop}')} IF NOT EXISTS "
                f"FOR (n:{label}) ON (n.{quote(prop)})"
            )
    return statements


def _props(row: Mapping[str, Any], columns: set[str], what: str) -> dict[str, Any]:
    props = {key: value for key, value in row.items() if key not in ("src", "dst")}
    extra = set(props) - columns
    if extra:
        raise StoreError(f"{what}: rows carry columns the schema lacks: {sorted(extra)}")
    return props


def plain(value: Any) -> Any:
    """A driver value as plain Python; nodes and relationships as EmbeddedStore gives them."""
    if isinstance(value, Node):
        # the schema's label, not a secondary one such as :Sigma on a Rule
        declared_labels = sorted(label for label in value.labels if label in schema.NODE_BY_LABEL)
        label = declared_labels[0] if declared_labels else min(value.labels, default="")
        known = schema.NODE_BY_LABEL.get(label)
        return {"_id": value.element_id, "_label": label, **_each(value, known)}
    if isinstance(value, Relationship):
        ends = {
            "_src": value.start_node.element_id if value.start_node else "",
            "_dst": value.end_node.element_id if value.end_node else "",
        }
        known_rel = schema.REL_BY_NAME.get(value.type)
        return {"_id": value.element_id, "_label": value.type, **ends, **_each(value, known_rel)}
    if isinstance(value, Path):
        return {"nodes": [plain(n) for n in value.nodes], "rels": [plain(r) for r in value]}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def _each(
    entity: Node | Relationship, declared: schema.NodeType | schema.RelType | None
) -> dict[str, Any]:
    # Neo4j keeps no null properties; the embedded store returns every declared column.
    props: dict[str, Any] = dict.fromkeys(declared.columns if declared else ())
    props.update((key, plain(item)) for key, item in entity.items())
    return props


def _message(exc: Neo4jError) -> str:
    return _first_line(exc.message or exc)


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
