"""The SQLite store's file layout: its tables and indexes, the schema version, and the
upgrade in place of a file that an older version wrote.

Version 2 (from 1): `records.full_name` is a column, written with each row as
json_extract(norm, '$.full_name'), and its index is a plain one. Version 1 indexed that
expression, which parsed every record's JSON again whenever the index was built (the end
of each bulk load: 2.4 s of CPU at 1M records against 0.6 s for the column). And the
index on `records.source` is gone: a source's records are the key range "source:...",
which the primary key serves (as the Neo4j store reads them).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

from .store import StoreUnavailable

SCHEMA_VERSION = "2"
VERSION_KEY = "schema_version"

# Every table, and the indexes of tables other than `records`; all idempotent.
TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, source_id TEXT NOT NULL,
    attrs TEXT NOT NULL, norm TEXT NOT NULL, updated_at TEXT, loaded_at TEXT,
    batch_id TEXT, content_hash TEXT NOT NULL, history TEXT NOT NULL DEFAULT '[]', load_seq INTEGER,
    full_name TEXT -- json_extract(norm, '$.full_name'), written with the row: what records_by_name seeks
);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, revoked_at TEXT, hint TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS blocks (block TEXT NOT NULL, record_key TEXT NOT NULL, PRIMARY KEY (block, record_key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blocks_record ON blocks(record_key);
CREATE TABLE IF NOT EXISTS identifiers (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, degree INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS identifiers_degree ON identifiers(degree);
CREATE TABLE IF NOT EXISTS has (
    record_key TEXT NOT NULL, identifier_key TEXT NOT NULL, field TEXT NOT NULL,
    PRIMARY KEY (record_key, identifier_key, field)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS has_identifier ON has(identifier_key, record_key);
CREATE TABLE IF NOT EXISTS matched (
    a TEXT NOT NULL, b TEXT NOT NULL, score REAL NOT NULL, rule_version TEXT NOT NULL,
    evidence TEXT NOT NULL, decision TEXT NOT NULL, run_id TEXT,
    PRIMARY KEY (a, b)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS matched_b ON matched(b);
DROP INDEX IF EXISTS matched_decision; -- made matches_for scan the whole table; nothing needs it
CREATE TABLE IF NOT EXISTS entities (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, attrs TEXT NOT NULL,
    created_at TEXT, updated_at TEXT
);
CREATE INDEX IF NOT EXISTS entities_kind ON entities(kind, id);
CREATE TABLE IF NOT EXISTS member_of (record_key TEXT PRIMARY KEY, entity_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS member_of_entity ON member_of(entity_id, record_key);
CREATE TABLE IF NOT EXISTS belongs_to (person_id TEXT PRIMARY KEY, account_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS belongs_to_account ON belongs_to(account_id, person_id);
CREATE TABLE IF NOT EXISTS child_of (child_id TEXT PRIMARY KEY, parent_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS child_of_parent ON child_of(parent_id, child_id);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT PRIMARY KEY, entity_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS aliases_entity ON aliases(entity_id);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, entity_id TEXT NOT NULL, type TEXT NOT NULL,
    at TEXT NOT NULL, run_id TEXT, rule_version TEXT, cause TEXT, actor TEXT,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_entity ON events(entity_id, seq);
CREATE TABLE IF NOT EXISTS overrides (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
    actor TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL,
    removed_at TEXT, removed_by TEXT, removed_reason TEXT
);
CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, file TEXT NOT NULL,
    line INTEGER NOT NULL, raw TEXT NOT NULL, reason TEXT NOT NULL, batch_id TEXT,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_source ON quarantine(source, id);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL,
    finished_at TEXT, rule_version TEXT, stats TEXT NOT NULL
);
"""

# After TABLES and any upgrade: in a version-1 file the full_name column exists only then.
RECORDS_INDEXES = (
    "CREATE INDEX IF NOT EXISTS records_source_id ON records(source_id)",
    "CREATE INDEX IF NOT EXISTS records_full_name ON records(full_name)",
    "CREATE INDEX IF NOT EXISTS records_load_seq ON records(load_seq)",
)


_INDEX = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+) ON (\w+)\([^)]*\)")


def indexes_of(tables: Iterable[str]) -> list[tuple[str, str]]:
    """(name, statement) of each secondary index TABLES gives `tables`, by name: what a block
    that drops them builds again, with the statement every open runs (IF NOT EXISTS)."""
    wanted = set(tables)
    return sorted((m[1], m[0]) for m in _INDEX.finditer(TABLES) if m[2] in wanted)


def ensure(conn: sqlite3.Connection, uri: str) -> bool:
    """Create what is missing and bring an older file up to this version; True if it upgraded.

    A file from a newer version is refused (StoreUnavailable) rather than misread. The
    upgrade is one transaction that adds and fills the column and swaps the indexes, so a
    crash leaves the old layout whole and the next open does it again; two processes
    opening an old file at once upgrade it once (the second finds it done under the
    writer lock).
    """
    conn.executescript(TABLES)
    found = _version(conn)
    if found is not None and found not in ("1", SCHEMA_VERSION):
        raise StoreUnavailable(
            uri,
            f"the file is at schema version {found} and this version of entitystore reads up to "
            f"{SCHEMA_VERSION}; upgrade entitystore",
        )
    upgraded = False
    if found != SCHEMA_VERSION or "full_name" not in _columns(conn):
        conn.execute("BEGIN IMMEDIATE")
        try:
            upgraded = _upgrade(conn)
            for sql in RECORDS_INDEXES:
                conn.execute(sql)
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (VERSION_KEY, SCHEMA_VERSION))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    else:
        for sql in RECORDS_INDEXES:  # back after a bulk load that died with them dropped
            conn.execute(sql)
    return upgraded


def _version(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    return row[0] if row else None


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {row[1] for row in conn.execute("PRAGMA table_info(records)")}


def _upgrade(conn: sqlite3.Connection) -> bool:
    """Version 1 (or older) to 2, inside the caller's transaction; False if nothing was left to do."""
    columns = _columns(conn)
    changed = False
    if "load_seq" not in columns:  # a file made before records carried a load sequence
        conn.execute("ALTER TABLE records ADD COLUMN load_seq INTEGER")
        changed = True
    if "full_name" not in columns:
        conn.execute("ALTER TABLE records ADD COLUMN full_name TEXT")
        conn.execute(
            "UPDATE records SET full_name = json_extract(norm, '$.full_name')"
            " WHERE json_extract(norm, '$.full_name') IS NOT NULL"
        )
        changed = True
    expression_index = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'records_full_name' AND sql LIKE '%json_extract%'"
    ).fetchone()
    if expression_index:
        conn.execute("DROP INDEX records_full_name")
        changed = True
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'records_source'").fetchone():
        conn.execute("DROP INDEX records_source")
        changed = True
    return changed
