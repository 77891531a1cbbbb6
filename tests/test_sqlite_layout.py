"""A SQLite file written in the schema-1 layout (full_name only inside the norm JSON, found
through an expression index; an index on records.source) is upgraded when it is opened,
losing nothing; a file from a newer schema is refused in one line rather than misread."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from graphstore.model import IdentifierRef
from graphstore.sqlite_layout import SCHEMA_VERSION, VERSION_KEY
from graphstore.sqlite_store import SqliteStore
from graphstore.store import StoreUnavailable

# What version 1 created for records (test fixture only: the product no longer writes it).
SCHEMA_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    key TEXT PRIMARY KEY, source TEXT NOT NULL, source_id TEXT NOT NULL,
    attrs TEXT NOT NULL, norm TEXT NOT NULL, updated_at TEXT, loaded_at TEXT,
    batch_id TEXT, content_hash TEXT NOT NULL, history TEXT NOT NULL DEFAULT '[]', load_seq INTEGER
);
CREATE INDEX records_source ON records(source);
CREATE INDEX records_source_id ON records(source_id);
CREATE INDEX records_full_name ON records(json_extract(norm, '$.full_name'));
CREATE INDEX records_load_seq ON records(load_seq);
CREATE TABLE identifiers (key TEXT PRIMARY KEY, kind TEXT NOT NULL, value TEXT NOT NULL, degree INTEGER NOT NULL);
CREATE INDEX identifiers_degree ON identifiers(degree);
CREATE TABLE has (
    record_key TEXT NOT NULL, identifier_key TEXT NOT NULL, field TEXT NOT NULL,
    PRIMARY KEY (record_key, identifier_key, field)
) WITHOUT ROWID;
CREATE INDEX has_identifier ON has(identifier_key, record_key);
INSERT INTO meta VALUES ('schema_version', '1'), ('load_seq', '2');
INSERT INTO records VALUES
    ('crm:1', 'crm', '1', '{"name":"Ann Lee"}', '{"full_name":"ann lee","email":"ann@x.com"}',
     '2026-01-01T00:00:00+00:00', '2026-01-02T00:00:00+00:00', 'b1', 'h1',
     '[{"content_hash":"h0","loaded_at":"2025-12-01T00:00:00+00:00"}]', 2),
    ('shop:7', 'shop', '7', '{}', '{}', NULL, '2026-01-02T00:00:00+00:00', NULL, 'h2', '[]', 1),
    ('shop:8', 'shop', '8', '{"name":"Ann Lee"}', '{"full_name":"ann lee"}', NULL, '2026-01-03T00:00:00+00:00',
     'b2', 'h3', '[]', 2);
INSERT INTO identifiers VALUES ('email:ann@x.com', 'email', 'ann@x.com', 2), ('device_id:d1', 'device_id', 'd1', 1);
INSERT INTO has VALUES ('crm:1', 'email:ann@x.com', 'email'), ('crm:1', 'email:ann@x.com', 'work_email'),
    ('shop:7', 'email:ann@x.com', 'email'), ('shop:7', 'device_id:d1', 'device');
"""


def _indexes(path: Path) -> set[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return set(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def _schema_1_file(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.executescript(SCHEMA_1)
    return path


def test_a_schema_1_file_is_upgraded_on_open_and_loses_nothing(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _schema_1_file(tmp_path / "old.db")
    with SqliteStore(path) as store:
        assert store.get_meta(VERSION_KEY) == SCHEMA_VERSION
        assert "upgraded the file to schema version" in caplog.text
        records = store.get_records(["crm:1", "shop:7", "shop:8"])
        ann = records["crm:1"]
        assert (ann.attrs, ann.norm, ann.batch_id, ann.content_hash) == (
            {"name": "Ann Lee"}, {"full_name": "ann lee", "email": "ann@x.com"}, "b1", "h1")
        assert (ann.updated_at, ann.loaded_at) == ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00")
        assert ann.history == [{"content_hash": "h0", "loaded_at": "2025-12-01T00:00:00+00:00"}]
        assert ann.identifiers == [IdentifierRef("email", "ann@x.com", "email"), IdentifierRef("email", "ann@x.com", "work_email")]
        assert records["shop:7"].identifiers == [IdentifierRef("device_id", "d1", "device"), IdentifierRef("email", "ann@x.com", "email")]
        assert records["shop:7"].norm == {} and records["shop:8"].batch_id == "b2"
        assert store.records_by_name(["ann lee", "nobody"]) == {"ann lee": ["crm:1", "shop:8"], "nobody": []}
        assert {k: i.degree for k, i in store.get_identifiers(["email:ann@x.com", "device_id:d1"]).items()} == {
            "email:ann@x.com": 2, "device_id:d1": 1}
        assert store.source_counts() == {"crm": 1, "shop": 2}
        assert [r.key for r in store.iter_records(source="shop")] == ["shop:7", "shop:8"]
        assert store.records_loaded_since("1") == ["crm:1", "shop:8"]
        # the upgraded file keeps working: an update moves a record to its new name
        changed = records["shop:8"]
        changed.norm = {"full_name": "ann lee-ray"}
        changed.content_hash = changed.compute_hash()
        assert store.upsert_records([changed]).updated == ["shop:8"]
        assert store.records_by_name(["ann lee", "ann lee-ray"]) == {"ann lee": ["crm:1"], "ann lee-ray": ["shop:8"]}
    # the same indexes as a file this version made, and the expression index is gone
    with SqliteStore(tmp_path / "fresh.db"):
        pass
    assert _indexes(path) == _indexes(tmp_path / "fresh.db")
    assert not any("json_extract" in sql or name == "records_source" for name, sql in _indexes(path))
    caplog.clear()
    with SqliteStore(path) as again:  # a second open has nothing left to do
        assert again.get_meta(VERSION_KEY) == SCHEMA_VERSION and again.counts()["records"] == 3
    assert "upgraded" not in caplog.text


def test_a_schema_1_file_left_by_a_died_bulk_load_is_upgraded_and_finished(tmp_path: Path) -> None:
    """A version-1 bulk load that died with its indexes dropped and its identifiers not yet
    counted: the open upgrades the layout, brings the indexes back and counts the degrees."""
    path = _schema_1_file(tmp_path / "old.db")
    with sqlite3.connect(path) as conn:
        for name in ("records_source", "records_source_id", "records_full_name", "records_load_seq",
                     "has_identifier", "identifiers_degree"):
            conn.execute(f"DROP INDEX {name}")
        conn.execute("DELETE FROM identifiers")
        conn.execute("INSERT INTO meta VALUES ('bulk_load', '999999999@no-such-boot')")
    with SqliteStore(path) as store:
        assert store.get_meta("bulk_load") is None
        assert {k: i.degree for k, i in store.get_identifiers(["email:ann@x.com", "device_id:d1"]).items()} == {
            "email:ann@x.com": 2, "device_id:d1": 1}
        assert store.records_by_name(["ann lee"]) == {"ann lee": ["crm:1", "shop:8"]}
    with SqliteStore(tmp_path / "fresh.db"):
        pass
    assert _indexes(path) == _indexes(tmp_path / "fresh.db")


def test_a_file_from_a_newer_schema_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with SqliteStore(path) as store:
        store.set_meta(VERSION_KEY, "99")
    with pytest.raises(StoreUnavailable) as info:
        SqliteStore(path)
    message = str(info.value)
    assert "\n" not in message and "schema version 99" in message and "upgrade entitystore" in message
