"""Where kg keeps things, read from the environment when asked, never at import."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir


def data_dir() -> Path:
    """``KG_HOME``, else the user's data directory (``~/.local/share/kg``)."""
    return Path(os.environ.get("KG_HOME") or user_data_dir("kg", appauthor=False))


def cache_dir() -> Path:
    """``KG_CACHE``, else the user's cache directory: downloads and parse caches."""
    return Path(os.environ.get("KG_CACHE") or user_cache_dir("kg", appauthor=False))


def embedded_path() -> Path:
    """``KG_DB``, else ``graph.lbug`` in the data directory."""
    return Path(os.environ.get("KG_DB") or data_dir() / "graph.lbug")


def corpora_dir() -> Path:
    """``KG_CORPORA``: the shared, pinned corpora used by integration tests and benches.

    Defaults to ``shared/corpora`` beside the project checkout.
    """
    env = os.environ.get("KG_CORPORA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[1]
    return checkout.parent / "shared" / "corpora"


def neo4j_settings() -> tuple[str | None, str, str | None]:
    """``NEO4J_URI``, ``NEO4J_USER`` (default neo4j), ``NEO4J_PASSWORD``."""
    return (
        os.environ.get("NEO4J_URI"),
        os.environ.get("NEO4J_USER", "neo4j"),
        os.environ.get("NEO4J_PASSWORD"),
    )
