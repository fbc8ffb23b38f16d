"""A content digest of a whole graph, equal on both stores for the same build.

Every node is read as its label, key and properties; every relationship as its
type, both end keys and its properties; the sorted lines are hashed.  Two
builds of the same sources must give the same digest, whichever store holds
them and however often they ran.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kg import schema
from kg.stores.base import GraphStore
from kg.stores.neo4j import quote


def _line(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def node_lines(store: GraphStore, node: schema.NodeType) -> list[str]:
    props = ", ".join(f"n.{quote(col)} AS {quote(col)}" for col in node.columns)
    rows = store.run(f"MATCH (n:{quote(node.label)}) RETURN {props}")
    return sorted(_line([node.label] + [row[col] for col in node.columns]) for row in rows)


def rel_lines(store: GraphStore, rel: schema.RelType) -> list[str]:
    lines: list[str] = []
    for src_label, dst_label in rel.pairs:
        src_key = schema.NODE_BY_LABEL[src_label].key
        dst_key = schema.NODE_BY_LABEL[dst_label].key
        props = "".join(f", r.{quote(col)} AS {quote(col)}" for col in rel.columns)
        rows = store.run(
            f"MATCH (a:{quote(src_label)})-[r:{quote(rel.name)}]->(b:{quote(dst_label)}) "
            f"RETURN a.{quote(src_key)} AS src, b.{quote(dst_key)} AS dst{props}"
        )
        lines.extend(
            _line([rel.name, row["src"], row["dst"]] + [row[col] for col in rel.columns])
            for row in rows
        )
    return sorted(lines)


def graph_digest(store: GraphStore) -> dict[str, tuple[int, str]]:
    """Per label and relationship type: (count, sha256 of its sorted content lines)."""
    out: dict[str, tuple[int, str]] = {}
    for node in schema.NODES:
        lines = node_lines(store, node)
        out[node.label] = (len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())
    for rel in schema.RELS:
        lines = rel_lines(store, rel)
        out[rel.name] = (len(lines), hashlib.sha256("\n".join(lines).encode()).hexdigest())
    return out
