"""The embedded default store: one SQLite file in WAL mode, zero set-up.

The graph is kept as tables shaped like the Neo4j model (records, identifiers, the
HAS links between them, matched edges, entities and their links), so the same
contract suite holds for both. WAL mode lets API readers run while a load writes;
each thread gets its own connection because sqlite3 connections are not shareable.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from . import jsontext
from .model import (
    ACCOUNT,
    ApiKey,
    NEAR_MISS,
    PERSON,
    Entity,
    EncodedRecord,
    EntityEvent,
    EvidenceItem,
    Identifier,
    IdentifierRef,
    MatchEdge,
    Override,
    QuarantineRow,
    Record,
    Run,
    StoreInfo,
    UpsertResult,
    identifier_key,
    record_key,
    utcnow,
)
from . import sqlite_layout
from .store import GraphStore, StoreUnavailable

_CHUNK = 900  # stays under SQLite's default limit on bound variables per statement


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _marks(n: int) -> str:
    return ",".join("?" * n)


_dumps = jsontext.dumps
_loads = jsontext.loads


_REBUILD_CACHE_KIB = -4096  # the page cache (and so the sorter's run size) while indexes are rebuilt: 4 MiB
# Kept during a bulk load: each write appends its rows at the end of this index (load_seq and
# rowid both grow), which costs less than sorting it afterwards (1M: 0.46 s at the end).
_KEPT_IN_BULK = "records_load_seq"
_BULK_MARK = "bulk_load"  # meta row while a bulk load defers identifier upkeep: "pid@boot id"
# Where a bulk load appends the `has` rows of a batch whose keys are not in ascending order
# (a plain rowid table, no index), once _STAGE_AFTER such records went straight in; they are
# moved into `has` in key order when the block ends. `has` is keyed by record key, so a
# source whose ids come in random order (product's message UUIDs) inserts its rows all over
# that B-tree, and each commit writes every page it touched: the k-th such batch rewrites
# about k times the pages it fills. At 1M records, loading product's 250k rows wrote 1.84M
# pages (7.5 GB) to the WAL and database for a 538 MB file. The move costs a sort and a
# copy at the serial end of the load, which the first few batches do not repay (100k: the
# stream -0.15 s, the end +0.2 s of CPU), and a batch in key order (most exports) lands
# side by side where the last one ended, so it always goes straight in.
_HAS_STAGED = "has_bulk"
_STAGE_AFTER = 50_000
# What a full resolution run fills (see bulk_resolve). `matched` and `blocks` are not here:
# replace_all_matches and replace_all_blocks rebuild their indexes in their own transaction.
_RESOLVE_TABLES = ("entities", "member_of", "belongs_to", "child_of", "aliases", "events")


def _staging(c: sqlite3.Connection) -> bool:
    """Whether the _HAS_STAGED table exists (from the claim of a bulk block to its end)."""
    return c.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_HAS_STAGED,)).fetchone() is not None


def _ascending(keys: Iterable[str]) -> bool:
    it = iter(keys)
    prev = next(it, "")
    for key in it:
        if key <= prev:
            return False
        prev = key
    return True


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _owner() -> str:
    return f"{os.getpid()}@{_boot_id()}"


def _owner_alive(mark: str) -> bool:
    """Whether the process that wrote a bulk mark may still be loading (same boot, pid alive)."""
    pid, _, boot = mark.partition("@")
    if boot != _boot_id() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SqliteStore(GraphStore):
    """GraphStore on one SQLite file. `path` may be ":memory:"-like only for tests via a temp file."""

    def __init__(self, path: str | Path, uri: str | None = None, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.uri = uri or f"sqlite:///{self.path}"
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._bulk_depth = 0
        self._deferring = False  # inside an outer bulk_load that defers identifier upkeep
        self._scattered = 0
        self._resolve_depth = 0
        try:
            if self.path.parent and not self.path.parent.exists():
                raise StoreUnavailable(self.uri, f"folder {self.path.parent} does not exist")
            conn = self._conn()
            if sqlite_layout.ensure(conn, self.uri):
                logging.getLogger(__name__).warning(
                    "%s: upgraded the file to schema version %s", self.uri, sqlite_layout.SCHEMA_VERSION
                )
            mark = conn.execute("SELECT value FROM meta WHERE key = ?", (_BULK_MARK,)).fetchone()
            if mark and not _owner_alive(mark[0]):  # a bulk load died: finish what it deferred
                self._rebuild([])
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreUnavailable(self.uri, f"not a usable SQLite database ({exc})") from None
        except BaseException:
            self.close()
            raise

    # -- connections -----------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _tx(self) -> _Tx:
        return _Tx(self._conn(), self.uri)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn().execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            _raise_if_unavailable(exc, self.uri)
            raise

    def _query_in(self, sql: str, keys: Iterable[str], extra: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run `sql` (with one `{marks}` placeholder for an IN list) over keys in chunks."""
        keys = list(dict.fromkeys(keys))
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(keys):
            rows.extend(self._query(sql.format(marks=_marks(len(chunk))), [*chunk, *extra]))
        return rows

    # -- lifecycle -------------------------------------------------------------------
    def info(self) -> StoreInfo:
        return StoreInfo(backend="sqlite", uri=self.uri, version=f"SQLite {sqlite3.sqlite_version}")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass
            self._all.clear()
        self._local = threading.local()

    def entity_counts(self) -> dict[str, int]:
        rows = self._query("SELECT kind, count(*) FROM entities GROUP BY kind")
        found = dict(rows)
        return {"persons": found.get(PERSON, 0), "accounts": found.get(ACCOUNT, 0)}

    def counts(self) -> dict[str, int]:
        one = lambda sql: self._query(sql)[0][0]  # noqa: E731
        return {
            "records": one("SELECT count(*) FROM records"),
            "identifiers": one("SELECT count(*) FROM identifiers"),
            "entities": one("SELECT count(*) FROM entities"),
            "persons": one(f"SELECT count(*) FROM entities WHERE kind='{PERSON}'"),
            "accounts": one(f"SELECT count(*) FROM entities WHERE kind='{ACCOUNT}'"),
            "has": one("SELECT count(*) FROM has"),
            "matched": one(f"SELECT count(*) FROM matched WHERE decision != '{NEAR_MISS}'"),
            "near_misses": one(f"SELECT count(*) FROM matched WHERE decision = '{NEAR_MISS}'"),
            "member_of": one("SELECT count(*) FROM member_of"),
            "belongs_to": one("SELECT count(*) FROM belongs_to"),
            "child_of": one("SELECT count(*) FROM child_of"),
            "aliases": one("SELECT count(*) FROM aliases"),
            "events": one("SELECT count(*) FROM events"),
            "overrides": one("SELECT count(*) FROM overrides"),
            "quarantined": one("SELECT count(*) FROM quarantine"),
        }

    def wipe(self) -> None:
        with self._tx() as c:
            for table in (
                "records", "identifiers", "has", "matched", "entities", "member_of", "belongs_to",
                "child_of", "aliases", "events", "overrides", "quarantine", "runs", "blocks", "api_keys",
            ):
                c.execute(f"DELETE FROM {table}")
            if _staging(c):
                c.execute(f"DELETE FROM {_HAS_STAGED}")
            c.execute("DELETE FROM meta WHERE key != 'schema_version'")

    # -- records ---------------------------------------------------------------------
    def _upsert(self, records: Sequence[EncodedRecord]) -> tuple[UpsertResult, dict[str, list[Any]]]:
        """The one write path of both upserts: the result, and the new history of each updated record."""
        result = UpsertResult()
        histories: dict[str, list[Any]] = {}
        if not records:
            return result, histories
        batch = {r.key: r for r in records}  # last one wins inside a batch
        now = utcnow()
        with self._tx() as c:
            existing: dict[str, tuple[str, str | None, str]] = {}
            for chunk in _chunks(list(batch)):
                for key, h, loaded_at, history in c.execute(
                    f"SELECT key, content_hash, loaded_at, history FROM records WHERE key IN ({_marks(len(chunk))})",
                    chunk,
                ):
                    existing[key] = (h, loaded_at, history)
            # the write's number, taken now and kept (the meta row written) only if the write
            # changes something: rows are built with it in one pass
            seq = self._current_load_seq(c) + 1
            inserts: list[tuple[Any, ...]] = []
            updates: list[tuple[Any, ...]] = []
            has_rows: list[tuple[str, str, str]] = []
            ident_rows: dict[tuple[str, str], tuple[str, str, str]] = {}  # (record, identifier) -> node row
            unlink_keys: list[str] = []
            with_identifiers = not self._deferring  # else `has` rows go to _HAS_STAGED
            add_has = has_rows.append
            for key, rec in batch.items():
                old = existing.get(key)
                if old is None:
                    result.inserted.append(key)
                    inserts.append(self._record_row(rec, rec.history, now, seq))
                elif old[0] == rec.content_hash:
                    result.unchanged.append(key)
                    continue
                else:
                    result.updated.append(key)
                    history = _loads(old[2])
                    history.append({"content_hash": old[0], "loaded_at": old[1]})
                    histories[key] = history
                    updates.append(self._record_row(rec, _dumps(history), now, seq))
                    unlink_keys.append(key)
                for kind, value, fld in rec.identifiers:
                    ident = identifier_key(kind, value)
                    add_has((key, ident, fld))
                    if with_identifiers:
                        ident_rows[(key, ident)] = (ident, kind, value)
            if inserts or updates:  # number the write only when it changes something
                self._set_load_seq(c, seq)
            if unlink_keys:
                self._unlink(c, unlink_keys, with_identifiers=with_identifiers)
                if not with_identifiers:
                    self._unstage(c, unlink_keys)
            if inserts:
                c.executemany(
                    "INSERT INTO records(key, source, source_id, attrs, norm, updated_at, loaded_at, batch_id,"
                    " content_hash, history, load_seq, full_name)"
                    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11, json_extract(?5, '$.full_name'))",
                    inserts,
                )
            if updates:
                c.executemany(
                    "UPDATE records SET source=?2, source_id=?3, attrs=?4, norm=?5, updated_at=?6, loaded_at=?7,"
                    " batch_id=?8, content_hash=?9, history=?10, load_seq=?11,"
                    " full_name=json_extract(?5, '$.full_name') WHERE key=?1",
                    updates,
                )
            if with_identifiers:
                self._link(c, has_rows, list(ident_rows.values()))
            elif has_rows:
                ordered = _ascending(batch)
                if ordered or self._scattered < _STAGE_AFTER:
                    self._scattered += 0 if ordered else len(batch)
                    self._link(c, has_rows, [])
                else:
                    c.executemany(
                        f"INSERT INTO {_HAS_STAGED}(record_key, identifier_key, field) VALUES (?,?,?)", has_rows
                    )
        return result, histories

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Into an empty store, index and identifier upkeep waits for the end of the block.

        The secondary indexes on records, has and identifiers (but records_load_seq, which
        only grows at its end) are dropped and rebuilt once, and identifier nodes with their
        degrees are computed once from `has`. Keeping them row by row means random inserts
        into B-trees larger than the page cache, and each 5,000-row commit copies those
        pages through the WAL again. Measured at 1M records: 7,635 -> 11,958 records/s in a
        trial, main-process CPU 85 -> 63 s, 6.8 -> 3.6 GiB written; the rebuild at the end
        takes ~7.5 s (see `_rebuild`; 16-17 s before it sorted with temporary files). The
        links of records written out of key order may wait in a staging table too (see
        _HAS_STAGED). A store that already holds records is left as it is, since its
        readers need the indexes. Until the block ends, readers see records without their
        identifiers. If the process dies inside it, the next open recreates the indexes
        (the schema is all IF NOT EXISTS), and it moves the staged links in and rebuilds
        the identifiers once the owner is gone (the `bulk_load` meta row names its pid and
        boot).
        """
        deferred: list[tuple[str, str]] = []
        if not self._bulk_depth:
            with self._tx() as c:  # the writer lock: one claim on an empty store, not two
                if self._may_defer(c):
                    deferred = c.execute(
                        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                        " AND tbl_name IN ('records', 'has', 'identifiers') AND name NOT IN (?)",
                        (_KEPT_IN_BULK,),
                    ).fetchall()
                    c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (_BULK_MARK, _owner()))
                    c.execute(
                        f"CREATE TABLE IF NOT EXISTS {_HAS_STAGED}"
                        " (record_key TEXT NOT NULL, identifier_key TEXT NOT NULL, field TEXT NOT NULL)"
                    )
                    for name, _sql in deferred:
                        c.execute(f'DROP INDEX IF EXISTS "{name}"')
        if not deferred:
            self._bulk_depth += 1
            try:
                yield
            finally:
                self._bulk_depth -= 1
            return
        self._bulk_depth += 1
        self._deferring = True
        self._scattered = 0  # records of batches out of key order linked straight into `has`
        try:
            yield
        finally:
            self._bulk_depth -= 1
            self._deferring = False
            self._rebuild([sql for _name, sql in deferred])

    @contextmanager
    def bulk_resolve(self) -> Iterator[None]:
        """The secondary indexes of the tables a full run fills that are empty at the start are
        dropped, and built once at the end of the block (sorted, as after a bulk load).

        A first full run writes memberships in record key order, 50,000 a transaction, but
        `member_of_entity` is ordered by entity id, which is random: each commit dirtied most
        of that index's leaf pages and wrote them to the WAL again. Likewise `entities_kind`,
        `belongs_to_account` and `events_entity`. A table that holds rows is left as it is,
        since its readers need the index: this only helps the first full run (or one after
        a wipe), which is the one that writes everything. Until the block ends, lookups by
        entity (members_of, persons_of, children_of, an entity's events) scan their table:
        slower, still correct. If the process dies inside it, the next open recreates the
        indexes (the schema is all IF NOT EXISTS), and this block's end then finds them
        there and leaves them. Two full runs at once on an empty store: each builds them at
        its end, so the one that ends (or dies) first leaves them to the other.
        """
        deferred: list[tuple[str, str]] = []
        if not self._resolve_depth:
            with self._tx() as c:
                empty = [t for t in _RESOLVE_TABLES if not c.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone()]
                # from the schema, not sqlite_master: a block running alongside may have dropped them
                deferred = sqlite_layout.indexes_of(empty)
                for name, _sql in deferred:
                    c.execute(f'DROP INDEX IF EXISTS "{name}"')
        self._resolve_depth += 1
        try:
            yield
        finally:
            self._resolve_depth -= 1
            if deferred:
                with self._sorting() as c:
                    for _name, sql in deferred:
                        c.execute(sql)

    @staticmethod
    def _may_defer(c: sqlite3.Connection) -> bool:
        """An empty store that no live bulk load has claimed. A second loader that finds the
        first one's claim loads the plain way: the first one's rebuild at its end counts its
        `has` rows too, and it keeps identifiers current from then on."""
        if c.execute("SELECT 1 FROM records LIMIT 1").fetchone():
            return False
        mark = c.execute("SELECT value FROM meta WHERE key = ?", (_BULK_MARK,)).fetchone()
        return not (mark and _owner_alive(mark[0]))

    def _rebuild(self, index_sql: list[str]) -> None:
        """`_finish_bulk` in one transaction, with the connection set up for sorting."""
        with self._sorting() as c:
            self._finish_bulk(c, index_sql)

    @contextmanager
    def _sorting(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that builds indexes (CREATE INDEX sorts its keys).

        With temp_store=MEMORY, SQLite's sorter keeps every key in one linked list, a
        malloc each, and merge-sorts it by chasing pointers; with temporary files allowed
        it sorts runs of at most cache_size bytes in one block each and merges them from
        files (SQLITE_TMPDIR, else /var/tmp or /tmp; at 1M records about 0.5 GB, deleted at
        the end). Runs of 4 MiB fit the CPU's caches. Measured on the same 1M-record store:
        the end-of-bulk-load rebuild 20.9 -> 9.9 s of CPU (100k: 1.3 -> 0.8 s). The page
        cache is small meanwhile too, so finished index pages go to the WAL as they fill.
        Both settings are restored afterwards.
        """
        conn = self._conn()
        temp_store, cache_size = (conn.execute(f"PRAGMA {name}").fetchone()[0] for name in ("temp_store", "cache_size"))
        conn.execute("PRAGMA temp_store=FILE")
        conn.execute(f"PRAGMA cache_size={_REBUILD_CACHE_KIB}")
        try:
            with self._tx() as c:
                yield c
        finally:
            conn.execute(f"PRAGMA temp_store={int(temp_store)}")
            conn.execute(f"PRAGMA cache_size={int(cache_size)}")

    @staticmethod
    def _finish_bulk(c: sqlite3.Connection, index_sql: list[str]) -> None:
        """Staged `has` rows moved in (sorted: appended to its B-tree, not scattered over it),
        indexes back (has_identifier first: the identifier rebuild reads through it),
        identifier nodes and degrees recomputed from `has`, the bulk mark cleared."""
        if _staging(c):  # also one a block left when it died
            c.execute(
                "INSERT OR IGNORE INTO has(record_key, identifier_key, field)"
                f" SELECT record_key, identifier_key, field FROM {_HAS_STAGED} ORDER BY 1, 2, 3"
            )
            # Debian's SQLite is built with SECURE_DELETE: a plain drop writes every page of the
            # table again, zeroed (product at 1M: 223 MB). FAST zeroes only what costs no I/O;
            # the freed pages are reused at once by the index builds below.
            secure = c.execute("PRAGMA secure_delete").fetchone()[0]
            c.execute("PRAGMA secure_delete=FAST")
            try:
                c.execute(f"DROP TABLE {_HAS_STAGED}")
            finally:
                c.execute(f"PRAGMA secure_delete={int(secure)}")
        index_sql = sorted(index_sql, key=lambda sql: " has_identifier " not in sql)
        for sql in index_sql:
            c.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
        c.execute("DELETE FROM identifiers")
        c.execute(
            "INSERT INTO identifiers(key, kind, value, degree)"
            " SELECT identifier_key, substr(identifier_key, 1, instr(identifier_key, ':') - 1),"
            " substr(identifier_key, instr(identifier_key, ':') + 1), count(DISTINCT record_key)"
            " FROM has GROUP BY identifier_key"
        )
        c.execute("DELETE FROM meta WHERE key = ?", (_BULK_MARK,))

    @staticmethod
    def _current_load_seq(c: sqlite3.Connection) -> int:
        """The number of the last write that changed something (0: none yet)."""
        row = c.execute("SELECT value FROM meta WHERE key = 'load_seq'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def _record_row(r: EncodedRecord, history: str, now: str, seq: int) -> tuple[Any, ...]:
        """The `records` columns an insert or an update writes, numbered by the write."""
        return (
            r.key, r.source, r.source_id, r.attrs, r.norm, r.updated_at, r.loaded_at or now, r.batch_id,
            r.content_hash, history, seq,
        )

    @staticmethod
    def _set_load_seq(c: sqlite3.Connection, seq: int) -> None:
        """Number this write; the writer lock (BEGIN IMMEDIATE) keeps numbers in commit order."""
        c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('load_seq', ?)", (str(seq),))

    @staticmethod
    def _link(c: sqlite3.Connection, has_rows: list[tuple[str, str, str]], ident_rows: list[tuple[str, str, str]]) -> None:
        """`has` rows (record key, identifier key, field), and identifier nodes (key, kind,
        value) once per record that carries them: inserted, or their degree raised by one.
        A bulk load that defers identifier upkeep passes none."""
        if has_rows:
            c.executemany("INSERT OR IGNORE INTO has(record_key, identifier_key, field) VALUES (?,?,?)", has_rows)
        if ident_rows:
            c.executemany(
                "INSERT INTO identifiers(key, kind, value, degree) VALUES (?,?,?,1)"
                " ON CONFLICT(key) DO UPDATE SET degree = degree + 1",
                ident_rows,
            )

    @staticmethod
    def _unstage(c: sqlite3.Connection, record_keys: list[str]) -> None:
        """Staged `has` rows of records rewritten inside the bulk block. The table has no
        index, so this scans it, once per write: only a record written twice inside one
        block gets here (a bulk block starts on an empty store)."""
        c.execute(f"DELETE FROM {_HAS_STAGED} WHERE record_key IN (SELECT value FROM json_each(?))", (_dumps(record_keys),))

    @staticmethod
    def _unlink(c: sqlite3.Connection, record_keys: list[str], with_identifiers: bool) -> None:
        for chunk in _chunks(record_keys):
            if with_identifiers:
                rows = c.execute(
                    f"SELECT DISTINCT record_key, identifier_key FROM has WHERE record_key IN ({_marks(len(chunk))})",
                    chunk,
                ).fetchall()
                c.executemany("UPDATE identifiers SET degree = degree - 1 WHERE key = ?", [(r[1],) for r in rows])
            c.execute(f"DELETE FROM has WHERE record_key IN ({_marks(len(chunk))})", chunk)
        if with_identifiers:
            c.execute("DELETE FROM identifiers WHERE degree <= 0")

    _IDENTS_OF = (
        "SELECT h.record_key, i.kind, i.value, h.field FROM has h JOIN identifiers i ON i.key = h.identifier_key"
        " WHERE {where} ORDER BY h.record_key, i.key, h.field"
    )

    def _load_records(self, rows: list[tuple[Any, ...]], key_range: bool = False) -> list[Record]:
        """Records from `records` rows, with their identifiers. `key_range`: the rows are every
        record between the first and last key (a scan page), so one range read of `has`
        replaces a thousand-key IN list per 900 keys."""
        keys = [row[0] for row in rows]
        idents: dict[str, list[IdentifierRef]] = defaultdict(list)
        if key_range and keys:
            found = self._query(
                self._IDENTS_OF.format(where="h.record_key >= ? AND h.record_key <= ?"), (keys[0], keys[-1])
            )
        else:
            found = self._query_in(self._IDENTS_OF.format(where="h.record_key IN ({marks})"), keys)
        for rk, kind, value, fld in found:
            idents[rk].append(IdentifierRef(kind, value, fld))
        out = []
        for key, source, source_id, attrs, norm, updated_at, loaded_at, batch_id, h, history, *_ in rows:
            out.append(
                Record(
                    source=source, source_id=source_id, attrs=_loads(attrs), norm=_loads(norm),
                    identifiers=idents.get(key, []), updated_at=updated_at, loaded_at=loaded_at,
                    batch_id=batch_id, content_hash=h, history=_loads(history),
                )
            )
        return out

    def get_records(self, keys: Iterable[str]) -> dict[str, Record]:
        rows = self._query_in("SELECT * FROM records WHERE key IN ({marks})", keys)
        return {r.key: r for r in self._load_records(rows)}

    def record_hashes(self, keys: Iterable[str]) -> dict[str, str]:
        return dict(self._query_in("SELECT key, content_hash FROM records WHERE key IN ({marks})", keys))

    def iter_records(self, source: str | None = None, batch_size: int = 5000) -> Iterator[Record]:
        # Keys are "source:id", so a source's records are the key range [source + ":", source + ";")
        # (';' follows ':'), which the primary key serves.
        upper, bound = ((source + ";",), " AND key < ?") if source is not None else ((), "")
        after, op = (record_key(source, "") if source is not None else ""), ">="
        while True:
            rows = self._query(f"SELECT * FROM records WHERE key {op} ?{bound} ORDER BY key LIMIT ?",
                               (after, *upper, batch_size))
            if not rows:
                return
            # a page holds every record between its first and last key: read their identifiers as a range
            yield from self._load_records(rows, key_range=True)
            after, op = rows[-1][0], ">"

    def iter_match_inputs(self, batch_size: int = 5000) -> Iterator[tuple[str, Mapping[str, Any], list[str]]]:
        # Each record's identifier keys come as one JSON array (a seek into `has`'s primary
        # key per record), not as a row per link: a full run reads ~4M links at 1M records,
        # and a Python tuple per link cost more than the SQL.
        after = ""
        while True:
            rows = self._query(
                "SELECT key, norm, (SELECT json_group_array(identifier_key) FROM has WHERE record_key = records.key)"
                " FROM records WHERE key > ? ORDER BY key LIMIT ?",
                (after, batch_size),
            )
            if not rows:
                return
            for key, norm, idents in rows:  # an array of TEXT keys: orjson reads it exactly
                yield key, _loads(norm), orjson.loads(idents)
            after = rows[-1][0]

    def source_counts(self) -> dict[str, int]:
        """Each source's records counted over its key range of the primary key, one source
        after another (a handful of seeks, not a scan of the records)."""
        out: dict[str, int] = {}
        after = ""
        while row := self._query("SELECT source FROM records WHERE key >= ? ORDER BY key LIMIT 1", (after,)):
            source = row[0][0]
            after = source + ";"
            out[source] = self._query(
                "SELECT count(*) FROM records WHERE key >= ? AND key < ?", (record_key(source, ""), after)
            )[0][0]
        return dict(sorted(out.items()))

    # -- identifiers -----------------------------------------------------------------
    def get_identifiers(self, keys: Iterable[str]) -> dict[str, Identifier]:
        rows = self._query_in("SELECT key, kind, value, degree FROM identifiers WHERE key IN ({marks})", keys)
        return {k: Identifier(kind, value, degree) for k, kind, value, degree in rows}

    def records_with_identifiers(self, keys: Iterable[str], limit: int | None = None) -> dict[str, list[str]]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, list[str]] = {k: [] for k in keys}
        if limit is None:
            for ik, rk in self._query_in(
                "SELECT DISTINCT identifier_key, record_key FROM has WHERE identifier_key IN ({marks})"
                " ORDER BY identifier_key, record_key",
                keys,
            ):
                out[ik].append(rk)
        else:
            for k in keys:
                out[k] = [
                    r[0]
                    for r in self._query(
                        "SELECT DISTINCT record_key FROM has WHERE identifier_key = ? ORDER BY record_key LIMIT ?",
                        (k, limit),
                    )
                ]
        return out

    def identifiers_of_records(self, record_keys: Iterable[str]) -> dict[str, list[Identifier]]:
        record_keys = list(dict.fromkeys(record_keys))
        out: dict[str, list[Identifier]] = {k: [] for k in record_keys}
        for rk, kind, value, degree in self._query_in(
            "SELECT DISTINCT h.record_key, i.kind, i.value, i.degree FROM has h"
            " JOIN identifiers i ON i.key = h.identifier_key WHERE h.record_key IN ({marks})"
            " ORDER BY h.record_key, i.kind, i.value",
            record_keys,
        ):
            out[rk].append(Identifier(kind, value, degree))
        return out

    def hub_identifiers(self, min_degree: int, limit: int = 1000) -> list[Identifier]:
        rows = self._query(
            "SELECT kind, value, degree FROM identifiers WHERE degree >= ? ORDER BY degree DESC, key LIMIT ?",
            (min_degree, limit),
        )
        return [Identifier(*r) for r in rows]

    def records_loaded_since(self, since: str | None) -> list[str]:
        if since is None:
            return [r[0] for r in self._query("SELECT key FROM records ORDER BY key")]
        # sorted here: ORDER BY key would make the planner walk the primary key over every record
        return sorted(r[0] for r in self._query("SELECT key FROM records WHERE load_seq > ?", (int(since),)))

    def load_watermark(self) -> str:
        return self.get_meta("load_seq") or "0"

    def set_blocks(self, mapping: Mapping[str, Sequence[str]]) -> None:
        keys = list(mapping)
        with self._tx() as c:
            for chunk in _chunks(keys):
                c.execute(f"DELETE FROM blocks WHERE record_key IN ({_marks(len(chunk))})", chunk)
            c.executemany(
                "INSERT OR IGNORE INTO blocks(block, record_key) VALUES (?, ?)",
                [(b, k) for k, blocks in mapping.items() for b in blocks],
            )

    def replace_all_blocks(self, members: Mapping[str, Iterable[str]], record_keys: Iterable[str]) -> None:
        # One transaction: rows go in primary-key order with the record index dropped and
        # rebuilt after. Row by row into both B-trees took 30 s for 2M rows; this takes 4 s.
        with self._sorting() as c:
            c.execute("DELETE FROM blocks")
            c.execute("DROP INDEX IF EXISTS blocks_record")
            c.executemany(
                "INSERT INTO blocks(block, record_key) VALUES (?, ?)",
                ((b, k) for b in sorted(members) for k in sorted(set(members[b]))),
            )
            c.execute("CREATE INDEX blocks_record ON blocks(record_key)")

    def records_in_blocks(self, block_keys: Iterable[str]) -> dict[str, list[str]]:
        keys = list(dict.fromkeys(block_keys))
        out: dict[str, list[str]] = {k: [] for k in keys}
        for b, rk in self._query_in(
            "SELECT block, record_key FROM blocks WHERE block IN ({marks}) ORDER BY block, record_key", keys
        ):
            out[b].append(rk)
        return out

    # -- matches ---------------------------------------------------------------------
    def write_matches(self, edges: Sequence[MatchEdge]) -> None:
        rows = [self._edge_row(e) for e in edges]
        with self._tx() as c:
            c.executemany("INSERT OR REPLACE INTO matched VALUES (?,?,?,?,?,?,?)", rows)

    def replace_all_matches(self, edges: Sequence[MatchEdge], record_keys: Iterable[str]) -> None:
        # Bulk load, as for blocks: the `b` index is rebuilt after the rows are in (1M edges:
        # 14 s row by row into both indexes, 5 s this way). Edges are inserted in key order.
        with self._sorting() as c:
            c.execute("DELETE FROM matched")
            c.execute("DROP INDEX IF EXISTS matched_b")
            c.executemany(
                "INSERT OR REPLACE INTO matched VALUES (?,?,?,?,?,?,?)",
                (self._edge_row(e) for e in sorted(edges, key=lambda e: (e.a, e.b))),
            )
            c.execute("CREATE INDEX matched_b ON matched(b)")

    def delete_matches_touching(self, record_keys: Iterable[str]) -> int:
        keys = list(dict.fromkeys(record_keys))
        n = 0
        with self._tx() as c:
            for chunk in _chunks(keys, _CHUNK // 2):
                m = _marks(len(chunk))
                n += c.execute(f"DELETE FROM matched WHERE a IN ({m}) OR b IN ({m})", [*chunk, *chunk]).rowcount
        return n

    @staticmethod
    def _edge_row(e: MatchEdge) -> tuple[Any, ...]:
        return (e.a, e.b, e.score, e.rule_version, _dumps([i.to_dict() for i in e.evidence]), e.decision, e.run_id)

    @staticmethod
    def _edge(row: tuple[Any, ...]) -> MatchEdge:
        a, b, score, rule_version, evidence, decision, run_id = row
        items = [EvidenceItem.from_dict(d) for d in _loads(evidence)]
        return MatchEdge(a, b, score, rule_version, items, decision, run_id)

    def matches_for(self, record_keys: Iterable[str], decision: str | None = None) -> list[MatchEdge]:
        keys = list(dict.fromkeys(record_keys))
        seen: dict[tuple[str, str], MatchEdge] = {}
        extra = " AND decision = ?" if decision else ""
        for chunk in _chunks(keys, _CHUNK // 2):
            m = _marks(len(chunk))
            params = [*chunk, *([decision] if decision else []), *chunk, *([decision] if decision else [])]
            for row in self._query(
                f"SELECT * FROM matched WHERE a IN ({m}){extra} UNION SELECT * FROM matched WHERE b IN ({m}){extra}",
                params,
            ):
                seen[(row[0], row[1])] = self._edge(row)
        return [seen[k] for k in sorted(seen)]

    def get_match(self, a: str, b: str) -> MatchEdge | None:
        a, b = min(a, b), max(a, b)
        rows = self._query("SELECT * FROM matched WHERE a = ? AND b = ?", (a, b))
        return self._edge(rows[0]) if rows else None

    def iter_matches(self, decision: str | None = None, batch_size: int = 10000) -> Iterator[MatchEdge]:
        after = ("", "")
        while True:
            extra = " AND decision = ?" if decision else ""
            rows = self._query(
                f"SELECT * FROM matched WHERE (a, b) > (?, ?){extra} ORDER BY a, b LIMIT ?",
                (*after, *([decision] if decision else []), batch_size),
            )
            if not rows:
                return
            for row in rows:
                yield self._edge(row)
            after = (rows[-1][0], rows[-1][1])

    # -- entities --------------------------------------------------------------------
    def upsert_entities(self, entities: Sequence[Entity]) -> None:
        now = utcnow()
        rows = [(e.id, e.kind, _dumps(e.attrs), e.created_at or now, e.updated_at or now) for e in entities]
        with self._tx() as c:
            c.executemany(
                "INSERT INTO entities VALUES (?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
                " kind=excluded.kind, attrs=excluded.attrs, updated_at=excluded.updated_at",
                rows,
            )

    def get_entities(self, ids: Iterable[str]) -> dict[str, Entity]:
        rows = self._query_in("SELECT id, kind, attrs, created_at, updated_at FROM entities WHERE id IN ({marks})", ids)
        return {r[0]: Entity(r[0], r[1], _loads(r[2]), r[3], r[4]) for r in rows}

    def delete_entities(self, ids: Iterable[str]) -> None:
        ids = list(dict.fromkeys(ids))
        with self._tx() as c:
            for chunk in _chunks(ids, _CHUNK // 2):
                m = _marks(len(chunk))
                c.execute(f"DELETE FROM entities WHERE id IN ({m})", chunk)
                c.execute(f"DELETE FROM member_of WHERE entity_id IN ({m})", chunk)
                c.execute(f"DELETE FROM belongs_to WHERE person_id IN ({m}) OR account_id IN ({m})", [*chunk, *chunk])
                c.execute(f"DELETE FROM child_of WHERE child_id IN ({m}) OR parent_id IN ({m})", [*chunk, *chunk])

    def list_entities(self, kind: str | None = None, after: str | None = None, limit: int = 100) -> list[Entity]:
        sql = "SELECT id, kind, attrs, created_at, updated_at FROM entities WHERE id > ?"
        params: list[Any] = [after or ""]
        if kind:
            sql += " AND kind = ?"
            params.append(kind)
        rows = self._query(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [Entity(r[0], r[1], _loads(r[2]), r[3], r[4]) for r in rows]

    def _set_links(self, table: str, left: str, right: str, mapping: Mapping[str, str | None]) -> None:
        drop = [(k,) for k, v in mapping.items() if v is None]
        # in key order: callers build these maps from sets, and rows in random order dirty pages
        # all over the table's B-tree in each transaction
        put = sorted((k, v) for k, v in mapping.items() if v is not None)
        with self._tx() as c:
            c.executemany(f"DELETE FROM {table} WHERE {left} = ?", drop)
            c.executemany(f"INSERT OR REPLACE INTO {table}({left}, {right}) VALUES (?, ?)", put)

    def _one_to_one(self, table: str, left: str, right: str, keys: Iterable[str]) -> dict[str, str]:
        return dict(self._query_in(f"SELECT {left}, {right} FROM {table} WHERE {left} IN ({{marks}})", keys))

    def _one_to_many(self, table: str, left: str, right: str, keys: Iterable[str]) -> dict[str, list[str]]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, list[str]] = {k: [] for k in keys}
        for k, v in self._query_in(
            f"SELECT {right}, {left} FROM {table} WHERE {right} IN ({{marks}}) ORDER BY {right}, {left}", keys
        ):
            out[k].append(v)
        return out

    def set_memberships(self, mapping: Mapping[str, str | None]) -> None:
        self._set_links("member_of", "record_key", "entity_id", mapping)

    def entity_of_records(self, record_keys: Iterable[str]) -> dict[str, str]:
        return self._one_to_one("member_of", "record_key", "entity_id", record_keys)

    def members_of(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._one_to_many("member_of", "record_key", "entity_id", entity_ids)

    def all_memberships(self) -> dict[str, str]:
        return dict(self._query("SELECT record_key, entity_id FROM member_of"))

    def set_account_links(self, mapping: Mapping[str, str | None]) -> None:
        self._set_links("belongs_to", "person_id", "account_id", mapping)

    def accounts_of(self, person_ids: Iterable[str]) -> dict[str, str]:
        return self._one_to_one("belongs_to", "person_id", "account_id", person_ids)

    def persons_of(self, account_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._one_to_many("belongs_to", "person_id", "account_id", account_ids)

    def set_parent_links(self, mapping: Mapping[str, str | None]) -> None:
        self._set_links("child_of", "child_id", "parent_id", mapping)

    def parents_of(self, account_ids: Iterable[str]) -> dict[str, str]:
        return self._one_to_one("child_of", "child_id", "parent_id", account_ids)

    def children_of(self, account_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._one_to_many("child_of", "child_id", "parent_id", account_ids)

    def add_aliases(self, mapping: Mapping[str, str]) -> None:
        with self._tx() as c:
            c.executemany("INSERT OR REPLACE INTO aliases(alias, entity_id) VALUES (?, ?)", list(mapping.items()))

    def remove_aliases(self, alias_ids: Iterable[str]) -> None:
        with self._tx() as c:
            c.executemany("DELETE FROM aliases WHERE alias = ?", [(a,) for a in alias_ids])

    def resolve_ids(self, ids: Iterable[str]) -> dict[str, str]:
        ids = list(dict.fromkeys(ids))
        live = {r[0] for r in self._query_in("SELECT id FROM entities WHERE id IN ({marks})", ids)}
        out = {i: i for i in ids if i in live}
        pending = {i: i for i in ids if i not in live}  # original -> current hop
        for _ in range(64):  # alias chains are short; the bound stops a corrupt cycle
            if not pending:
                break
            hops = dict(self._query_in("SELECT alias, entity_id FROM aliases WHERE alias IN ({marks})", pending.values()))
            nxt = {}
            for orig, cur in pending.items():
                target = hops.get(cur)
                if target is None:
                    continue
                nxt[orig] = target
            targets_live = {
                r[0] for r in self._query_in("SELECT id FROM entities WHERE id IN ({marks})", set(nxt.values()))
            }
            pending = {}
            for orig, target in nxt.items():
                if target in targets_live:
                    out[orig] = target
                else:
                    pending[orig] = target
        return out

    def aliases_of(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        entity_ids = list(dict.fromkeys(entity_ids))
        out: dict[str, list[str]] = {}
        for eid in entity_ids:
            seen: set[str] = set()
            frontier = [eid]
            while frontier:
                rows = self._query_in("SELECT alias FROM aliases WHERE entity_id IN ({marks})", frontier)
                frontier = [r[0] for r in rows if r[0] not in seen and r[0] != eid]
                seen.update(frontier)
            out[eid] = sorted(seen)
        return out

    # -- history, overrides, quarantine, runs --------------------------------------
    def append_events(self, events: Sequence[EntityEvent]) -> list[EntityEvent]:
        # One executemany, not an execute per event (a 1M-record full run appends ~450k
        # events). Inside this write transaction nothing else inserts, and AUTOINCREMENT gives
        # each row the largest seq so far + 1, so the batch's seqs are the run ending at the
        # connection's last insert rowid.
        if not events:
            return []
        with self._tx() as c:
            c.executemany(
                "INSERT INTO events(entity_id, type, at, run_id, rule_version, cause, actor, details)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [(e.entity_id, e.type, e.at, e.run_id, e.rule_version, e.cause, e.actor, _dumps(e.details))
                 for e in events],
            )
            last = c.execute("SELECT last_insert_rowid()").fetchone()[0]
        for seq, e in enumerate(events, last - len(events) + 1):
            e.seq = seq
        return list(events)

    def events(
        self,
        entity_ids: Iterable[str] | None = None,
        since: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
        types: Iterable[str] | None = None,
    ) -> list[EntityEvent]:
        where, params = [], []
        if entity_ids is not None:
            ids = list(dict.fromkeys(entity_ids))
            if not ids:
                return []
            where.append(f"entity_id IN ({_marks(len(ids))})")
            params.extend(ids)
        if types is not None:
            ts = list(types)
            where.append(f"type IN ({_marks(len(ts))})")
            params.extend(ts)
        if since is not None:
            where.append("at >= ?")
            params.append(since)
        if after_seq is not None:
            where.append("seq > ?")
            params.append(after_seq)
        sql = "SELECT seq, entity_id, type, at, run_id, rule_version, cause, actor, details FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            EntityEvent(
                entity_id=r[1], type=r[2], at=r[3], run_id=r[4], rule_version=r[5], cause=r[6], actor=r[7],
                details=_loads(r[8]), seq=r[0],
            )
            for r in self._query(sql, params)
        ]

    def add_override(self, override: Override) -> None:
        o = override
        with self._tx() as c:
            c.execute(
                "INSERT INTO overrides VALUES (?,?,?,?,?,?,?,?,?,?)",
                (o.id, o.kind, o.a, o.b, o.actor, o.reason, o.created_at, o.removed_at, o.removed_by, o.removed_reason),
            )

    def remove_override(self, override_id: str, actor: str, reason: str, at: str) -> Override | None:
        with self._tx() as c:
            n = c.execute(
                "UPDATE overrides SET removed_at=?, removed_by=?, removed_reason=? WHERE id=? AND removed_at IS NULL",
                (at, actor, reason, override_id),
            ).rowcount
        if not n:
            return None
        return self._overrides("WHERE id = ?", [override_id])[0]

    def _overrides(self, where: str, params: Sequence[Any]) -> list[Override]:
        rows = self._query(f"SELECT * FROM overrides {where} ORDER BY created_at, id", params)
        return [Override(*r) for r in rows]

    def get_overrides(self, active_only: bool = True, record_keys: Iterable[str] | None = None) -> list[Override]:
        clauses, params = [], []
        if active_only:
            clauses.append("removed_at IS NULL")
        out = self._overrides(("WHERE " + " AND ".join(clauses)) if clauses else "", params)
        if record_keys is not None:
            keys = set(record_keys)
            out = [o for o in out if o.a in keys or o.b in keys]
        return out

    def add_quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        with self._tx() as c:
            c.executemany(
                "INSERT INTO quarantine(source, file, line, raw, reason, batch_id, at) VALUES (?,?,?,?,?,?,?)",
                [(q.source, q.file, q.line, q.raw, q.reason, q.batch_id, q.at) for q in rows],
            )

    def quarantined(self, source: str | None = None, limit: int | None = None) -> list[QuarantineRow]:
        sql = "SELECT id, source, file, line, raw, reason, batch_id, at FROM quarantine"
        params: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            params.append(source)
        sql += " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [
            QuarantineRow(source=r[1], file=r[2], line=r[3], raw=r[4], reason=r[5], batch_id=r[6], at=r[7], id=r[0])
            for r in self._query(sql, params)
        ]

    def save_run(self, run: Run) -> None:
        with self._tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?)",
                (run.id, run.kind, run.started_at, run.finished_at, run.rule_version, _dumps(run.stats)),
            )

    def runs(self, kind: str | None = None, limit: int = 20) -> list[Run]:
        sql = "SELECT id, kind, started_at, finished_at, rule_version, stats FROM runs"
        params: list[Any] = []
        if kind:
            sql += " WHERE kind = ?"
            params.append(kind)
        rows = self._query(sql + " ORDER BY started_at DESC, id DESC LIMIT ?", [*params, limit])
        return [Run(r[0], r[1], r[2], r[3], r[4], _loads(r[5])) for r in rows]

    def get_meta(self, key: str) -> str | None:
        rows = self._query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    # -- API keys and search lookups -------------------------------------------------
    _KEY_COLUMNS = "id, name, role, key_hash, created_at, revoked_at, hint"

    def add_api_key(self, key: ApiKey) -> None:
        with self._tx() as c:
            c.execute(
                f"INSERT INTO api_keys({self._KEY_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
                (key.id, key.name, key.role, key.key_hash, key.created_at, key.revoked_at, key.hint),
            )

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = self._query(f"SELECT {self._KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,))
        return ApiKey(*rows[0]) if rows else None

    def list_api_keys(self, include_revoked: bool = True) -> list[ApiKey]:
        where = "" if include_revoked else " WHERE revoked_at IS NULL"
        rows = self._query(f"SELECT {self._KEY_COLUMNS} FROM api_keys{where} ORDER BY created_at, id")
        return [ApiKey(*r) for r in rows]

    def revoke_api_key(self, key_id: str, at: str) -> ApiKey | None:
        with self._tx() as c:
            n = c.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (at, key_id)
            ).rowcount
        if not n:
            return None
        rows = self._query(f"SELECT {self._KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,))
        return ApiKey(*rows[0])

    def records_by_source_id(self, source_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(dict.fromkeys(source_ids))
        out: dict[str, list[str]] = {i: [] for i in ids}
        for sid, key in self._query_in(
            "SELECT source_id, key FROM records WHERE source_id IN ({marks}) ORDER BY source_id, key", ids
        ):
            out[sid].append(key)
        return out

    def records_by_name(self, names: Iterable[str], limit: int | None = None) -> dict[str, list[str]]:
        names = list(dict.fromkeys(names))
        out: dict[str, list[str]] = {n: [] for n in names}
        sql = "SELECT key FROM records WHERE full_name = ? ORDER BY key"
        for name in names:
            params: list[Any] = [name]
            if limit is not None:
                params.append(limit)
            out[name] = [r[0] for r in self._query(sql + (" LIMIT ?" if limit is not None else ""), params)]
        return out


# What SQLite says when the file, not the statement, is the problem: the same condition as
# a Neo4j server that went away, so callers (the API's STORE_UNAVAILABLE) treat it alike.
_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "readonly", "malformed", "not a database", "full")


def _raise_if_unavailable(exc: sqlite3.DatabaseError, uri: str) -> None:
    """StoreUnavailable (from `exc`) when the file is the problem; otherwise return, and the
    caller re-raises the original error (a bug in a statement must not look like an outage)."""
    text = str(exc)
    if any(marker in text.lower() for marker in _UNAVAILABLE):
        raise StoreUnavailable(uri, text) from exc


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on error: one batch, one transaction."""

    def __init__(self, conn: sqlite3.Connection, uri: str) -> None:
        self.conn = conn
        self.uri = uri

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            _raise_if_unavailable(exc, self.uri)
            raise
        return self.conn

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.DatabaseError as commit_error:
                _raise_if_unavailable(commit_error, self.uri)
                raise
            return
        if self.conn.in_transaction:  # SQLite may already have rolled back (e.g. a full disk)
            self.conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.DatabaseError):
            _raise_if_unavailable(exc, self.uri)
