"""The two graph stores and how to open one.

``open_store`` gives Neo4j when a URI is given, else the embedded store at
``kg.settings.embedded_path()``.  The store modules are imported only when
asked for, so that using one never needs the other's driver.  The helpers below
are shared by both stores.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kg import schema, settings
from kg.errors import StoreError

if TYPE_CHECKING:
    from kg.stores.base import GraphStore


def open_store(
    neo4j_uri: str | None = None,
    user: str | None = None,
    password: str | None = None,
    path: str | Path | None = None,
    read_only: bool = False,
) -> GraphStore:
    """Neo4j at ``neo4j_uri`` if given, else the embedded store at ``path`` (or the default)."""
    if neo4j_uri:
        from kg.stores.neo4j import Neo4jStore

        if password is None:
            raise StoreError(f"{neo4j_uri}: no password given (set NEO4J_PASSWORD)")
        return Neo4jStore(neo4j_uri, user or "neo4j", password)
    from kg.stores.embedded import EmbeddedStore

    return EmbeddedStore(path or settings.embedded_path(), read_only=read_only)


def node_type(label: str) -> schema.NodeType:
    """The declared node type, or a StoreError naming the unknown label."""
    try:
        return schema.NODE_BY_LABEL[label]
    except KeyError:
        raise StoreError(f"unknown node label {label!r}; kg.schema declares none such") from None


def rel_type(name: str, src_label: str, dst_label: str) -> schema.RelType:
    """The declared relationship type, checked to join ``src_label`` to ``dst_label``."""
    rel = schema.REL_BY_NAME.get(name)
    if rel is None:
        raise StoreError(f"unknown relationship type {name!r}; kg.schema declares none such")
    if (src_label, dst_label) not in rel.pairs:
        raise StoreError(f"{name} does not join {src_label} to {dst_label} in kg.schema")
    return rel


def describe_query(query: str) -> str:
    """A query's name from its ``// name:`` header, else its first line of Cypher."""
    first = ""
    for line in query.splitlines():
        stripped = line.strip()
        if stripped.startswith("// name:"):
            return f"query {stripped[len('// name:') :].strip()}"
        if stripped and not stripped.startswith("//") and not first:
            first = stripped
    return f"query '{first[:80]}'"
