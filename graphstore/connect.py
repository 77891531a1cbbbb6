"""Turning a store URI into an open GraphStore.

The URI is the only thing callers choose; nothing above the seam knows which backend
it got. Credentials for Neo4j come from the environment (NEO4J_USER, NEO4J_PASSWORD,
NEO4J_DATABASE), never from the URI printed back or the repository.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from .store import GraphStore, StoreUriError

DEFAULT_STORE = "sqlite:///entitystore.db"
SQLITE_SCHEMES = ("sqlite",)
NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")
ACCEPTED = "sqlite:///PATH, neo4j://HOST:PORT, neo4j+s://, neo4j+ssc://, bolt://, bolt+s://, bolt+ssc://, or 'neo4j' (uses $NEO4J_URI)"


@dataclass(frozen=True)
class StoreTarget:
    """A parsed store URI: which backend, where, and the URI safe to print (no password)."""

    backend: str
    location: str
    display: str
    user: str | None = None
    password: str | None = None
    database: str | None = None


def default_store_uri() -> str:
    return os.environ.get("ENTITYSTORE_STORE") or DEFAULT_STORE


def parse_store_uri(uri: str) -> StoreTarget:
    """Validate a store URI; raises StoreUriError naming the accepted schemes."""
    uri = uri.strip()
    if uri == "neo4j":
        uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
    scheme, sep, rest = uri.partition("://")
    scheme = scheme.lower()
    if not sep:
        raise StoreUriError(f"store URI {uri!r} has no scheme; expected one of: {ACCEPTED}")
    if scheme in SQLITE_SCHEMES:
        if not rest.startswith("/") or len(rest) < 2:
            raise StoreUriError(f"store URI {uri!r}: expected sqlite:///relative/file.db or sqlite:////absolute/file.db")
        path = rest[1:]
        return StoreTarget("sqlite", path, f"sqlite:///{path}")
    if scheme in NEO4J_SCHEMES:
        parts = urlsplit(uri)
        if not parts.hostname:
            raise StoreUriError(f"store URI {uri!r} names no host; expected e.g. bolt://127.0.0.1:7687")
        try:
            port = parts.port
        except ValueError:
            raise StoreUriError(f"store URI {uri!r} has a port that is not a number") from None
        host = parts.hostname + (f":{port}" if port else "")
        location = f"{scheme}://{host}"
        return StoreTarget(
            "neo4j",
            location,
            location,
            user=parts.username or os.environ.get("NEO4J_USER") or os.environ.get("NEO4J_USERNAME") or "neo4j",
            password=parts.password or os.environ.get("NEO4J_PASSWORD"),
            database=(parts.path.strip("/") or os.environ.get("NEO4J_DATABASE") or "neo4j"),
        )
    raise StoreUriError(f"store URI {uri!r} has unknown scheme {scheme!r}; accepted: {ACCEPTED}")


def open_store(uri: str | None = None) -> GraphStore:
    """Open (and create, for SQLite; migrate the schema, for Neo4j) the store at `uri`.

    Raises StoreUriError for a URI we do not understand and StoreUnavailable for a store
    we cannot reach; both carry a one-line message fit for a user.
    """
    target = parse_store_uri(uri or default_store_uri())
    if target.backend == "sqlite":
        from .sqlite_store import SqliteStore

        return SqliteStore(Path(target.location), uri=target.display)
    from .neo4j_store import Neo4jStore

    return Neo4jStore(
        target.location, user=target.user or "neo4j", password=target.password, database=target.database or "neo4j"
    )
