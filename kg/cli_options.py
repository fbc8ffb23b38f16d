"""Options and output shared by every ``kg`` command module."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console

from kg.stores.base import GraphStore

F = TypeVar("F", bound=Callable[..., Any])

console = Console()
err_console = Console(stderr=True)


_STORE_OPTIONS = (
    click.option(
        "--neo4j",
        "neo4j_uri",
        envvar="NEO4J_URI",
        help="Bolt URI of a Neo4j 5 server (env NEO4J_URI); default: the embedded store.",
    ),
    click.option("--user", envvar="NEO4J_USER", default="neo4j", show_default=True),
    click.option(
        "--password", envvar="NEO4J_PASSWORD", help="Neo4j password (env NEO4J_PASSWORD)."
    ),
    click.option(
        "--db",
        "db_path",
        type=click.Path(path_type=Path),
        envvar="KG_DB",
        help="Embedded database path (env KG_DB; default in the user data directory).",
    ),
)


def store_options(func: F) -> F:
    """``--neo4j URI`` (with ``--user``/``--password``) or ``--db PATH`` for the embedded store."""
    for option in reversed(_STORE_OPTIONS):
        func = option(func)
    return func


def open_from_options(
    neo4j_uri: str | None, user: str, password: str | None, db_path: Path | None, read_only: bool
) -> GraphStore:
    from kg.stores import open_store

    if db_path is not None:
        # an explicit embedded path wins over a NEO4J_URI left in the environment
        neo4j_uri = None
    return open_store(
        neo4j_uri=neo4j_uri, user=user, password=password, path=db_path, read_only=read_only
    )
