"""Shared fixtures: a fresh graph store of each kind, and the shared corpora."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kg import settings
from kg.stores.base import GraphStore

STORE_KINDS = ["embedded", pytest.param("neo4j", marks=pytest.mark.neo4j)]


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "corpora: needs the shared corpora (KG_CORPORA)",
        "neo4j: needs a Neo4j server (NEO4J_URI)",
        "browser: needs headless Chromium",
    ):
        config.addinivalue_line("markers", line)


def open_test_store(kind: str, tmp_path: Path) -> GraphStore:
    """A reset store of ``kind``; Neo4j comes from NEO4J_URI or the test is skipped."""
    if kind == "embedded":
        from kg.stores.embedded import EmbeddedStore

        store: GraphStore = EmbeddedStore(tmp_path / "graph.lbug")
    else:
        uri, user, password = settings.neo4j_settings()
        if not uri:
            pytest.skip("NEO4J_URI is not set: no Neo4j server to test against")
        from kg.stores.neo4j import Neo4jStore

        store = Neo4jStore(uri, user, password or "")
    store.reset()
    return store


@pytest.fixture(params=STORE_KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """A fresh, reset store: embedded in tmp_path, or the Neo4j at NEO4J_URI."""
    opened = open_test_store(request.param, tmp_path)
    yield opened
    opened.close()


@pytest.fixture
def corpora() -> Path:
    """The shared corpora directory, or a skip saying where it was looked for."""
    root = settings.corpora_dir()
    if not root.is_dir():
        where = "KG_CORPORA" if os.environ.get("KG_CORPORA") else "the default location"
        pytest.skip(f"no corpora at {root} ({where}); set KG_CORPORA to the shared corpora")
    return root
