"""kg's exceptions, all under one root.

    KgError
     ├── SourceError      a source file or bundle could not be read (names the file)
     ├── StoreError       the graph store refused a connection, a write or a query
     │    └── StoreAuthError   wrong user or password
     ├── QueryError       a canned query is unknown or its parameters are wrong
     └── FetchError       a pinned source could not be downloaded or verified

The library raises these; the CLI turns each into one line and a non-zero exit.
"""

from __future__ import annotations


class KgError(Exception):
    """Root of every error kg raises on purpose."""


class SourceError(KgError):
    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {reason}")


class StoreError(KgError):
    pass


class StoreAuthError(StoreError):
    pass


class QueryError(KgError):
    pass


class FetchError(KgError):
    pass
