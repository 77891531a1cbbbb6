"""The production store: the graph model of DESIGN.md in Neo4j, through the official driver.

Every statement lives in `cypher/<name>.cypher` (see `cypher_files`), takes its values as
parameters and, for writes, a whole batch at once (`UNWIND $rows AS row ...`). Writes run
as managed transactions (`session.execute_write`), so the driver retries them on
transient errors (deadlocks, leader switches); that is why each transaction function
only reads and writes the database and touches caller-visible objects after commit.

The write model (schema version 2; 3 only stops storing identifier degrees) is lean because
loading is server-bound: a record node holds only what a query seeks or filters on (`key`,
`source`, `source_id`, `full_name`, `content_hash`, `load_seq`) plus one JSON `body` with
the rest (attributes, normalized values, `updated_at`, `loaded_at`, `batch_id`, `history`,
and the identifiers with the source field each came from). `(:Record)-[:HAS]->(:Identifier)` has no property and
exists once per distinct identifier of a record; reads of records (and explanations, which
need the field) take identifiers from the body, traversals (candidates, hubs, steward
queries) follow HAS. One statement (`records_write`) merges a chunk's identifiers and links
each record to them by position in the collected list, not by an index lookup per link.
Measured on 100k-record loads (2 cores): server CPU per record 184 -> ~126 us against
version 1 (a property each, a `field` on every HAS, a lookup per link, two more indexes).
A database still in the version-1 layout is rewritten on open (`_upgrade_from_1`), and one
from version 1 or 2 loses its stored identifier degrees (`_upgrade_from_2`).

Choices that keep the two backends indistinguishable to callers:

- Match edges, memberships and blocking keys may name a record that was never loaded
  (the contract suite does; a resolver may race a loader). Such an end is created as a
  stub, `(:Record:RecordStub {key})`: a real node, so the edge can exist and be found by
  key, but not a record. Counts, record reads and pages skip stubs; the first upsert of
  that key fills the stub in and removes the label (and reports it as inserted).
- Identifier degree (distinct records carrying it, SQLite's `degree` column) is not stored
  (schema version 3): reads count the identifier's HAS links, `COUNT { (i)<-[:HAS]-() }`,
  which the planner answers with a degree lookup (no expand). `_upsert_tx` links a record
  to each distinct identifier once, so the count is the degree; an update that removes an
  identifier's last link deletes the node. Keeping it as a property cost a load ~24 us of
  server CPU per record (updating shared identifiers) plus its index; the price is that
  `hub_identifiers` scans every identifier (no index to seek).
- Event `seq` and quarantine `id` come from `(:Counter {name})` nodes, bumped in the
  transaction that appends: the counter's write lock serializes appenders, so numbers are
  unique and increase in commit order. Record writes take their load number (`load_seq`,
  what incremental resolution's watermark follows) the same way, but at the end of
  `records_write`, so the lock is held only from there to commit: a loader's second writer
  thread (`concurrent_writes`) runs its whole statement while the first commits.
- A bulk load into a store with no records skips reading the records' state (`bulk_load`).
- Aliases are `(:Alias {id, target})` nodes rather than relationships: an alias may point
  at an id that is itself an alias, or at one that is not a live entity.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j.exceptions import (
    AuthError,
    ClientError,
    ConstraintError,
    DriverError,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
)

from .cypher_files import statement, statements
from . import jsontext
from .model import (
    ACCOUNT,
    ApiKey,
    EncodedRecord,
    NEAR_MISS,
    PERSON,
    Entity,
    EntityEvent,
    EvidenceItem,
    Identifier,
    IdentifierRef,
    MATCH,
    MatchEdge,
    Override,
    QuarantineRow,
    Record,
    RegionStep,
    Run,
    record_key,
    StoreInfo,
    UpsertResult,
    identifier_key,
    utcnow,
)
from .store import GraphStore, StoreUnavailable

# 3: identifier degree not stored (read as the count of HAS links; 2 kept `degree`, indexed).
# 2: a record's values in one JSON body, HAS without a property (1: a property each, HAS.field).
SCHEMA_VERSION = "3"
SCHEMA_VERSION_KEY = "schema_version"

# Rows per UNWIND statement: large enough to amortize round trips, small enough that one
# statement's parameters and transaction state stay modest. A batch bigger than this is
# still one transaction (several statements in it).
WRITE_CHUNK = 5000
READ_CHUNK = 10000
UPGRADE_BATCH = 10000  # identifiers per inner transaction of the schema 2 -> 3 upgrade
_NO_LIMIT = 2**31 - 1  # LIMIT and list slices take 32-bit integers
_CONNECT_TIMEOUT_S = 10.0
_READ_RETRY_S = 3.0  # how long a read retries a lost server (writes keep the driver's 30 s)

# The driver reports failed connection attempts through `logging`; without a handler
# Python's last-resort handler would print them under our one-line error. Applications
# that configure logging still get them (propagation is untouched).
logging.getLogger("neo4j").addHandler(logging.NullHandler())

T = TypeVar("T")


_dumps = jsontext.dumps


class _Rows(list):  # type: ignore[type-arg]
    """A list parameter whose repr is its length. The driver formats every RUN message's
    parameters for its debug log before it checks the log level (neo4j 6.4: `" ".join(map(repr,
    fields))` in Bolt6.run), which for a 5,000-record write cost the loader's writer thread
    ~7.5 µs per record, as much as building the rows. Packed exactly like a list."""

    def __repr__(self) -> str:
        return f"<{len(self)} rows>"


def _params(params: dict[str, Any]) -> dict[str, Any]:
    """Statement parameters with every list (or tuple) as `_Rows`: the one place all
    statements' parameters pass through (`_run`, `_DeferringTx.defer`)."""
    return {k: _Rows(v) if isinstance(v, (list, tuple)) and not isinstance(v, _Rows) else v for k, v in params.items()}


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _links(identifiers: Iterable[tuple[str, str, str]]) -> list[list[str]]:
    """A record's distinct (kind, value, source field) in (identifier key, field) order: the
    order the body lists them in, whoever writes it (an upsert or the schema-1 upgrade)."""
    return [list(t) for t in sorted(set(map(tuple, identifiers)), key=lambda t: (identifier_key(t[0], t[1]), t[2]))]


def _body(rec: EncodedRecord, identifiers: list[list[str]], loaded_at: str | None, history: str) -> str:
    """A record's values that no query filters on, as one JSON property (schema version 2).

    One string property costs the server far less to write than one property each (and
    one decode to read); the identifiers with the source field each came from live here
    too, so HAS links need no property and record reads need not follow them. Assembled
    from the JSON text the loader already made of attrs and norm (no decode, no re-encode).
    """
    text = (f'{{"attrs":{rec.attrs},"norm":{rec.norm},"identifiers":{_dumps(identifiers)},'
            f'"updated_at":{_dumps(rec.updated_at)},"loaded_at":{_dumps(loaded_at)},"batch_id":{_dumps(rec.batch_id)}')
    if history != "[]":
        text += f',"history":{history}'  # absent means [] (most records never change)
    return text + "}"


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _q(name: str) -> Any:
    """Statement text by name; typed Any because the driver asks for LiteralString and the
    text comes from our own files (never from data)."""
    return statement(name)


def _run(tx: ManagedTransaction, name: str, /, **params: Any) -> list[dict[str, Any]]:
    """Run one named statement inside `tx` and return its rows as dicts."""
    return tx.run(_q(name), _params(params)).data()


def _run_chunked(tx: ManagedTransaction, name: str, param: str, items: Sequence[Any], /, **params: Any) -> list[dict[str, Any]]:
    """Run a statement over `items` (bound to `$param`) in chunks, all inside `tx`."""
    rows: list[dict[str, Any]] = []
    for chunk in _chunks(items, WRITE_CHUNK):
        rows.extend(_run(tx, name, **{**params, param: chunk}))
    return rows


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


class _DeferringTx:
    """The transaction of an `in_one_transaction` block, holding back the writes whose result
    no caller reads (`defer`): they go to the server as unit subqueries ahead of the block's
    next statement, in the order they were made, or on their own when the block ends
    (`flush`). Clauses run in order within a statement, so the next statement sees them
    as if each had been sent alone; it just costs no round trip of its own. An incremental
    run writes entities, memberships, blocks and links this way between its reads."""

    def __init__(self, tx: ManagedTransaction) -> None:
        self.tx = tx
        self._pending: list[tuple[str, dict[str, Any]]] = []

    def defer(self, name: str, params: dict[str, Any]) -> None:
        self._pending.append((name, _params(params)))

    def run(self, query: Any, parameters: dict[str, Any] | None = None) -> Any:
        if not self._pending:
            return self.tx.run(query, parameters)
        parts: list[str] = []
        merged: dict[str, Any] = dict(parameters or {})
        for i, (name, params) in enumerate(self._pending):
            prefix = f"_d{i}_"
            parts.append("CALL () {\n" + _PARAM.sub(lambda m: "$" + prefix + m.group(1), statement(name)) + "\n}\n")
            merged.update({prefix + k: v for k, v in params.items()})
        self._pending = []
        return self.tx.run("".join(parts) + "WITH count(*) AS _deferred_writes\n" + query, merged)  # type: ignore[arg-type]

    def flush(self) -> None:
        if self._pending:
            self.run("RETURN 0 AS flushed").consume()


def _describe(exc: BaseException, user: str, has_password: bool, database: str) -> str:
    """A one-line cause for a connection/auth/config failure, with no secret in it."""
    if isinstance(exc, AuthError):
        if not has_password:
            return f"authentication failed for user {user!r}: no password given (set NEO4J_PASSWORD)"
        return f"authentication failed for user {user!r} (check NEO4J_USER / NEO4J_PASSWORD)"
    if isinstance(exc, ClientError) and exc.code == "Neo.ClientError.Database.DatabaseNotFound":
        return f"database {database!r} does not exist (set NEO4J_DATABASE or the URI path)"
    if isinstance(exc, ClientError) and exc.code and exc.code.startswith("Neo.ClientError.Security."):
        return f"user {user!r} may not do this: {exc.message or exc.code}"
    if isinstance(exc, (ServiceUnavailable, SessionExpired)):
        text = str(exc)
        reason = re.search(r"\(reason (?:\[Errno -?\d+\] )?([^)]*)\)", text)
        if reason:
            return f"no Neo4j server answers there ({reason.group(1).strip().lower()})"
        if "looks like HTTP" in text:
            return "that port speaks HTTP, not Bolt (the Bolt port is usually 7687)"
        if "DNS resolve" in text:
            return "cannot resolve the host name"
        if "routing information" in text:
            return "no Neo4j server answers there (unable to retrieve routing information)"
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        return f"no Neo4j server answers there ({first})"
    if isinstance(exc, Neo4jError):
        return f"{exc.code}: {exc.message}" if exc.code else str(exc).splitlines()[0]
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


LOAD_SEQ = "load_seq"  # counter numbering record writes, for incremental resolution
EVENT_SEQ = "event_seq"  # counter numbering events (appended alone or by close_run)

class Neo4jStore(GraphStore):
    """GraphStore on a Neo4j database (Community, Enterprise, Aura; 5.26 LTS or newer)."""

    concurrent_writes = 2  # records_write takes the load counter last: one runs while one commits

    def __init__(
        self,
        location: str,
        user: str = "neo4j",
        password: str | None = None,
        database: str = "neo4j",
    ) -> None:
        self.uri = location
        self._user = user
        self._has_password = bool(password)
        self._database = database
        self._driver: Driver | None = None
        try:
            auth = (user, password) if password else None
            self._driver = GraphDatabase.driver(
                location, auth=auth, connection_timeout=_CONNECT_TIMEOUT_S, max_connection_lifetime=3600
            )
            self._bookmarks = GraphDatabase.bookmark_manager()
            self._local = threading.local()  # .tx: the transaction `in_one_transaction` runs in
            self._bulk_lock = threading.Lock()
            self._bulk_depth = 0  # nesting of bulk_load blocks
            self._fresh = False  # inside a bulk load that began with no records (see bulk_load)
            self._driver.verify_connectivity()
            self._version = self._server_version()
            self._create_schema()
        except StoreUnavailable:
            self._driver.close()
            raise
        except (DriverError, Neo4jError, OSError, ValueError) as exc:
            if self._driver is not None:
                self._driver.close()
            raise StoreUnavailable(self.uri, _describe(exc, user, bool(password), database)) from exc

    # -- plumbing --------------------------------------------------------------------
    @property
    def driver(self) -> Driver:
        if self._driver is None:
            raise StoreUnavailable(self.uri, "the store is closed")
        return self._driver

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn losing the server mid-work into StoreUnavailable, like a failed open."""
        try:
            yield
        except (ServiceUnavailable, SessionExpired, AuthError) as exc:
            raise StoreUnavailable(
                self.uri, _describe(exc, self._user, self._has_password, self._database)
            ) from exc

    def _session(self, **config: Any) -> Any:
        return self.driver.session(
            database=self._database, bookmark_manager=self._bookmarks, fetch_size=READ_CHUNK, **config
        )

    def _bound_tx(self) -> _DeferringTx | None:
        """The transaction an `in_one_transaction` block on this thread runs in, if any."""
        return getattr(self._local, "tx", None)

    def _write(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(tx, *args)` as one managed write transaction (retried on transient errors),
        or inside the enclosing `in_one_transaction` block's transaction."""
        tx = self._bound_tx()
        if tx is not None:
            return work(tx, *args)
        with self._errors(), self._session() as session:
            return session.execute_write(work, *args)

    def _read(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(tx, *args)` as one managed read transaction. Reads give up on a lost
        server after a few seconds rather than the driver's 30: a caller (an API request
        with its own time limit) learns the store is unavailable while it can still say so."""
        tx = self._bound_tx()
        if tx is not None:
            return work(tx, *args)
        with self._errors(), self._session(max_transaction_retry_time=_READ_RETRY_S) as session:
            return session.execute_read(work, *args)

    def in_one_transaction(self, work: Callable[[], T]) -> T:
        """`work()` with every store call it makes on this thread in one managed write
        transaction: each call costs one round trip per statement instead of a transaction of
        its own (begin, run, commit), and the run pays one commit (one log flush) instead of
        one per write. Retried from the start on transient errors (deadlocks); an exception
        that is not the store's commits what was written before it is re-raised, as it would
        have been committed call by call."""
        if self._bound_tx() is not None:
            return work()
        failure: list[BaseException] = []

        def tx_work(tx: ManagedTransaction) -> T | None:
            failure.clear()
            deferring = self._local.tx = _DeferringTx(tx)
            try:  # however the attempt ends, the thread's later calls run in their own transactions
                try:
                    out = work()
                except (Neo4jError, DriverError):
                    raise
                except Exception as exc:  # not the store's: keep the writes, re-raise after commit
                    failure.append(exc)
                    out = None
                deferring.flush()
            finally:
                self._local.tx = None
            return out

        with self._errors(), self._session() as session:
            out = session.execute_write(tx_work)
        if failure:
            raise failure[0]
        return out  # type: ignore[return-value]

    def _query(self, name: str, /, **params: Any) -> list[dict[str, Any]]:
        """One read statement, one transaction."""
        return self._read(lambda tx: _run(tx, name, **params))

    def _query_keys(self, name: str, keys: Iterable[str], param: str = "keys", **params: Any) -> list[dict[str, Any]]:
        """A keyed read (`UNWIND $keys ...`) over any number of keys, chunked in one transaction."""
        keys = _unique(keys)
        if not keys:
            return []

        def work(tx: ManagedTransaction) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []
            for chunk in _chunks(keys, READ_CHUNK):
                rows.extend(_run(tx, name, **{**params, param: chunk}))
            return rows

        return self._read(work)

    def _update(self, name: str, /, **params: Any) -> None:
        self._write(lambda tx: _run(tx, name, **params))

    def _write_blind(self, name: str, param: str, items: Sequence[Any], /, **params: Any) -> None:
        """A write whose result no caller reads: inside an `in_one_transaction` block (and one
        statement's size) it is deferred to ride with the next statement (`_DeferringTx`)."""
        tx = self._bound_tx()
        if isinstance(tx, _DeferringTx) and len(items) <= WRITE_CHUNK:
            tx.defer(name, {**params, param: items})
            return
        self._write(lambda tx: _run_chunked(tx, name, param, items, **params))

    def _update_blind(self, name: str, /, **params: Any) -> None:
        """`_update` for a write whose result no caller reads (deferred as `_write_blind`)."""
        tx = self._bound_tx()
        if isinstance(tx, _DeferringTx):
            tx.defer(name, params)
            return
        self._update(name, **params)

    def _server_version(self) -> str:
        rows = self._query("server_version")
        if not rows:
            return "Neo4j (version unknown)"
        row = rows[0]
        edition = str(row.get("edition") or "").capitalize()
        return " ".join(p for p in ("Neo4j", str(row["version"]), edition) if p)

    def _create_schema(self) -> None:
        """Constraints and indexes, idempotently; schema commands need their own transactions."""
        with self._session() as session:
            for text in statements("schema"):
                try:
                    session.run(text).consume()  # type: ignore[arg-type]
                except ClientError as exc:
                    # Two processes opening a fresh database at once may race on the same rule.
                    if "EquivalentSchemaRuleAlreadyExists" not in (exc.code or ""):
                        raise
        self._update("meta_init", key=SCHEMA_VERSION_KEY, value=SCHEMA_VERSION)
        self._check_layout()

    def _check_layout(self) -> None:
        """Bring a database written in an older layout (schema 1 or 2) up to date on open, one
        step after the other, and refuse one from a newer version (rather than misread it).
        The version is marked only once every step is done; each step is idempotent, so an
        upgrade that stopped half way finishes on the next open."""
        rows = self._query("meta_get", key=SCHEMA_VERSION_KEY)
        found = rows[0]["value"] if rows else SCHEMA_VERSION
        if found == SCHEMA_VERSION:
            return
        if found not in ("1", "2"):
            raise StoreUnavailable(
                self.uri,
                f"the database is at schema version {found} and this version of entitystore reads up to "
                f"{SCHEMA_VERSION}; upgrade entitystore",
            )
        if found == "1":
            upgraded = self._upgrade_from_1()
            if upgraded:
                logging.getLogger(__name__).warning(
                    "%s: rewrote %d records from the schema-1 layout to schema %s", self.uri, upgraded, SCHEMA_VERSION
                )
        self._upgrade_from_2()
        self._update("meta_set", key=SCHEMA_VERSION_KEY, value=SCHEMA_VERSION)

    def _upgrade_from_2(self) -> None:
        """Remove the `degree` property schemas 1 and 2 kept on each identifier (its index was
        dropped by schema.cypher on this open): degree is now read as the number of HAS links,
        which the writers kept equal to it (one link per distinct record; the schema-1 step
        has already merged its per-field links). Batched inner transactions, so a large
        database never holds one transaction with every identifier in it."""
        # CALL { } IN TRANSACTIONS needs an auto-commit transaction: session.run, not execute_write.
        with self._errors(), self._session() as session:
            session.run(_q("identifiers_upgrade_degree"), {"batch": UPGRADE_BATCH}).consume()

    def _upgrade_from_1(self) -> int:
        """Rewrite schema-1 records (a property per value, a `field` on each HAS link) into
        the body layout, in key order, one transaction per page.

        Nothing is lost: entities, memberships, events and overrides do not change, since
        the layout is only the record's own node and links. A page is written only where a
        record still has no body, so an upgrade that stops half way (or runs in two processes
        at once) finishes on the next open; and the version is marked only at the end.
        """
        done, after = 0, ""
        while True:
            rows = self._query("records_upgrade_page", after=after, limit=WRITE_CHUNK)
            if not rows:
                return done
            after = rows[-1]["key"]
            bodies = []
            for row in rows:
                if row["record"] is None:  # already in the body layout, or a stub
                    continue
                rec = self._legacy_record(row["record"], row["identifiers"]).encoded()
                bodies.append([row["key"], _body(rec, _links(rec.identifiers), rec.loaded_at, rec.history)])
            if bodies:
                self._update("records_upgrade_write", rows=bodies)
                done += len(bodies)

    @staticmethod
    def _legacy_record(props: dict[str, Any], links: list[list[str]]) -> Record:
        """A record as schema 1 stored it: its values as properties, each identifier's source
        field on its HAS link (one link per field)."""
        return Record(
            source=props["source"],
            source_id=props["source_id"],
            attrs=jsontext.loads(props["attrs"]),
            norm=jsontext.loads(props["norm"]),
            identifiers=[IdentifierRef(kind, value, fld) for kind, value, fld in links],
            updated_at=props.get("updated_at"),
            loaded_at=props.get("loaded_at"),
            batch_id=props.get("batch_id"),
            content_hash=props["content_hash"],
            history=jsontext.loads(props.get("history") or "[]"),
        )

    # -- lifecycle -------------------------------------------------------------------
    def info(self) -> StoreInfo:
        return StoreInfo(backend="neo4j", uri=self.uri, version=self._version)

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None

    def counts(self) -> dict[str, int]:
        row = self._query("counts", person=PERSON, account=ACCOUNT, near_miss=NEAR_MISS)[0]
        return {k: int(v) for k, v in row.items()}

    def entity_counts(self) -> dict[str, int]:
        row = self._query("entity_counts", person=PERSON, account=ACCOUNT)[0]
        return {k: int(v) for k, v in row.items()}

    def wipe(self) -> None:
        # CALL { } IN TRANSACTIONS needs an auto-commit transaction: session.run, not execute_write.
        with self._errors(), self._session() as session:
            session.run(_q("wipe"), {"keep_meta": SCHEMA_VERSION_KEY}).consume()

    # -- records ---------------------------------------------------------------------
    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """A load into a store with no records writes them without first reading what the store
        holds for their keys (`records_state`: an index seek per record, every one a miss,
        ~7 µs of server CPU per record). Safe without any claim on the store: a key that
        exists after all (another writer's, or a stub) fails the write on the record key
        constraint, nothing of that batch is kept, and it is written again the normal way,
        as is everything after it. A load that dies midway leaves records, so its rerun
        takes the normal path."""
        with self._bulk_lock:
            self._bulk_depth += 1
            if self._bulk_depth == 1:
                self._fresh = not self._query("records_any")[0]["any"]
        try:
            yield
        finally:
            with self._bulk_lock:
                self._bulk_depth -= 1
                if self._bulk_depth == 0:
                    self._fresh = False

    def _upsert(self, records: Sequence[EncodedRecord]) -> tuple[UpsertResult, dict[str, list[Any]]]:
        if self._fresh and self._bound_tx() is None:
            try:
                return self._write(self._upsert_tx, records, utcnow(), True)
            except ConstraintError:  # a key exists after all: this batch and the rest the normal way
                self._fresh = False
        return self._write(self._upsert_tx, records, utcnow())

    @staticmethod
    def _upsert_tx(
        tx: ManagedTransaction, records: Sequence[EncodedRecord], now: str, fresh: bool = False
    ) -> tuple[UpsertResult, dict[str, list[Any]]]:
        """Classify by content hash, then unlink/relink identifiers and write records: one
        transaction. Returns the result and the new history of each updated record. `fresh`:
        take every record as new without reading the store (see `bulk_load`)."""
        result = UpsertResult()
        batch = {r.key: r for r in records}  # last one wins inside a batch
        existing: dict[str, dict[str, Any]] = {}
        if not fresh:
            state = [[key, rec.content_hash] for key, rec in batch.items()]
            existing = {row["key"]: row for row in _run_chunked(tx, "records_state", "rows", state)}
        todo: list[tuple[bool, list[Any], list[str]]] = []  # (new?, row, identifier keys)
        kinds: dict[str, str] = {}  # identifier key -> kind
        relinked: list[str] = []
        histories: dict[str, list[Any]] = {}
        for key, rec in batch.items():
            old = existing.get(key)
            history = rec.history
            if old is None or old["stub"]:
                result.inserted.append(key)
            elif old["content_hash"] == rec.content_hash:
                result.unchanged.append(key)
                continue
            else:
                result.updated.append(key)
                before = jsontext.loads(old["body"])
                histories[key] = [*before.get("history", ()), {"content_hash": old["content_hash"],
                                                               "loaded_at": before.get("loaded_at")}]
                history = _dumps(histories[key])
                relinked.append(key)
            links = _links(rec.identifiers)
            keys: dict[str, None] = {}  # the record's distinct identifier keys, in body order
            for kind, value, _ in links:
                ik = identifier_key(kind, value)
                kinds[ik] = kind
                keys[ik] = None
            full_name = jsontext.loads(rec.norm).get("full_name")
            row = [
                key,
                rec.source,
                rec.source_id,
                rec.content_hash,
                full_name if isinstance(full_name, str) else None,  # indexed copy for records_by_name
                _body(rec, links, rec.loaded_at or now, history),
            ]
            todo.append((old is None, row, list(keys)))
        if relinked:
            _run_chunked(tx, "identifiers_unlink", "keys", relinked)
        if not todo:
            return result, histories
        seq = None  # the first chunk's statement takes the load number (no round trip of its own)
        for chunk in _chunks(todo, WRITE_CHUNK):
            identifiers = sorted({ik for _, _, idents in chunk for ik in idents})  # lock order (MERGE)
            at = {ik: n for n, ik in enumerate(identifiers)}
            creates: list[list[Any]] = []
            updates: list[list[Any]] = []
            for new, row, idents in chunk:
                (creates if new else updates).append([*row, [at[ik] for ik in idents]])
            seq = _run(tx, "records_write", seq=seq, name=LOAD_SEQ, creates=creates, updates=updates,
                       identifiers=[[ik, kinds[ik]] for ik in identifiers])[0]["seq"]
        return result, histories

    @staticmethod
    def _record(row: dict[str, Any]) -> Record:
        body = jsontext.loads(row["body"])
        return Record(
            source=row["source"],
            source_id=row["source_id"],
            attrs=body["attrs"],
            norm=body["norm"],
            identifiers=[IdentifierRef(kind, value, fld) for kind, value, fld in body["identifiers"]],
            updated_at=body.get("updated_at"),
            loaded_at=body.get("loaded_at"),
            batch_id=body.get("batch_id"),
            content_hash=row["content_hash"],
            history=body.get("history", []),
        )

    def get_records(self, keys: Iterable[str]) -> dict[str, Record]:
        rows = self._query_keys("records_get", keys)
        return {row["key"]: self._record(row) for row in rows}

    def records_and_identifiers(
        self, keys: Iterable[str]
    ) -> tuple[dict[str, Record], dict[str, list[Identifier]]]:
        keys = _unique(keys)
        records: dict[str, Record] = {}
        idents: dict[str, list[Identifier]] = {k: [] for k in keys}
        for row in self._query_keys("records_get_with_degrees", keys):
            key = row["key"]
            records[key] = self._record(row)
            idents[key] = [Identifier(kind, value, degree) for kind, value, degree in sorted(row["identifiers"])]
        return records, idents

    def record_hashes(self, keys: Iterable[str]) -> dict[str, str]:
        return {row["key"]: row["content_hash"] for row in self._query_keys("records_hashes", keys)}

    def iter_records(self, source: str | None = None, batch_size: int = 5000) -> Iterator[Record]:
        after = ""
        while True:
            if source is None:
                rows = self._query("records_page", after=after, limit=batch_size)
            else:
                rows = self._query("records_page_of_source", prefix=record_key(source, ""), after=after,
                                   limit=batch_size)
            if not rows:
                return
            for row in rows:
                yield self._record(row)
            after = rows[-1]["key"]

    def source_counts(self) -> dict[str, int]:
        return {row["source"]: row["records"] for row in self._query("records_per_source")}

    # -- identifiers -----------------------------------------------------------------
    def get_identifiers(self, keys: Iterable[str]) -> dict[str, Identifier]:
        return {
            row["key"]: Identifier(row["kind"], row["value"], row["degree"])
            for row in self._query_keys("identifiers_get", keys)
        }

    def records_with_identifiers(self, keys: Iterable[str], limit: int | None = None) -> dict[str, list[str]]:
        keys = _unique(keys)
        out: dict[str, list[str]] = {k: [] for k in keys}
        for row in self._query_keys("identifiers_records", keys, limit=_NO_LIMIT if limit is None else limit):
            out[row["key"]] = row["records"]
        return out

    def identifiers_of_records(self, record_keys: Iterable[str]) -> dict[str, list[Identifier]]:
        record_keys = _unique(record_keys)
        out: dict[str, list[Identifier]] = {k: [] for k in record_keys}
        for chunk in self._query_keys("identifiers_of_records", record_keys):
            for key, kind, value, degree in chunk["rows"]:
                out[key].append(Identifier(kind, value, degree))
        for idents in out.values():
            idents.sort(key=lambda i: (i.kind, i.value))
        return out

    def hub_identifiers(self, min_degree: int, limit: int = 1000) -> list[Identifier]:
        rows = self._query("identifiers_hubs", min_degree=min_degree, limit=limit)
        return [Identifier(row["kind"], row["value"], row["degree"]) for row in rows]

    def records_loaded_since(self, since: str | None) -> list[str]:
        return [row["key"] for row in self._query("records_loaded_since", since=int(since) if since else -1)]

    def load_watermark(self) -> str:
        return str(self._query("load_watermark", name=LOAD_SEQ)[0]["value"])

    def run_start(
        self, rules_key: str, watermark_key: str, rule_version: str | None
    ) -> tuple[str, str | None, list[str] | None]:
        row = self._query(
            "run_start", name=LOAD_SEQ, rules_key=rules_key, watermark_key=watermark_key, rule_version=rule_version
        )[0]
        return str(row["mark"]), row["stored"], row["changed"] if row["listed"] else None

    def set_blocks(self, mapping: Mapping[str, Sequence[str]]) -> None:
        if not mapping:
            return
        keys = list(mapping)
        rows = [{"key": k, "blocks": _unique(bs)} for k, bs in mapping.items()]
        if len(rows) <= WRITE_CHUNK:  # an incremental run's few records: one statement
            self._write_blind("blocks_set", "rows", rows)
            return

        def work(tx: ManagedTransaction) -> None:
            # chunked: every record's links must go before any block is judged empty
            touched = {row["block"] for row in _run_chunked(tx, "blocks_clear", "keys", keys)}
            _run_chunked(tx, "blocks_add", "rows", rows)
            if touched:
                _run_chunked(tx, "blocks_prune", "keys", sorted(touched))

        self._write(work)

    def records_in_blocks(self, block_keys: Iterable[str]) -> dict[str, list[str]]:
        keys = _unique(block_keys)
        out: dict[str, list[str]] = {k: [] for k in keys}
        for row in self._query_keys("blocks_members", keys):
            out[row["block"]].append(row["record"])
        for members in out.values():
            members.sort()
        return out

    # -- match edges -----------------------------------------------------------------
    def write_matches(self, edges: Sequence[MatchEdge]) -> None:
        if not edges:
            return
        rows = self._match_rows(edges)
        self._write_blind("matches_write", "rows", rows)

    @staticmethod
    def _match_rows(edges: Sequence[MatchEdge]) -> list[dict[str, Any]]:
        return [
            {
                "a": e.a,
                "b": e.b,
                "score": float(e.score),
                "rule_version": e.rule_version,
                "evidence": _dumps([i.to_dict() for i in e.evidence]),
                "decision": e.decision,
                "run_id": e.run_id,
            }
            for e in edges
        ]

    def replace_matches_touching(self, record_keys: Iterable[str], edges: Sequence[MatchEdge]) -> None:
        keys = _unique(record_keys)
        if len(keys) > WRITE_CHUNK or len(edges) > WRITE_CHUNK:
            super().replace_matches_touching(keys, edges)
            return
        # one statement (an incremental run's rescored pairs), deferred inside in_one_transaction
        self._write_blind("matches_replace_touching", "rows", self._match_rows(edges), keys=keys)

    def delete_matches_touching(self, record_keys: Iterable[str]) -> int:
        keys = _unique(record_keys)
        if not keys:
            return 0
        rows = self._write(lambda tx: _run_chunked(tx, "matches_delete_touching", "keys", keys))
        return sum(int(row["deleted"]) for row in rows)

    @staticmethod
    def _edge(row: dict[str, Any]) -> MatchEdge:
        items = [EvidenceItem.from_dict(d) for d in jsontext.loads(row["evidence"])]
        return MatchEdge(row["a"], row["b"], row["score"], row["rule_version"], items, row["decision"], row["run_id"])

    def matches_for(self, record_keys: Iterable[str], decision: str | None = None) -> list[MatchEdge]:
        rows = self._query_keys("matches_for", record_keys, decision=decision)
        unique = {(row["a"], row["b"]): row for row in rows}  # an edge seen from both ends in two chunks
        return [self._edge(unique[pair]) for pair in sorted(unique)]

    def get_match(self, a: str, b: str) -> MatchEdge | None:
        a, b = min(a, b), max(a, b)
        rows = self._query("match_get", a=a, b=b)
        return self._edge(rows[0]) if rows else None

    def iter_matches(self, decision: str | None = None, batch_size: int = 10000) -> Iterator[MatchEdge]:
        after = ("", "")
        while True:
            rows = self._query("matches_page", after_a=after[0], after_b=after[1], decision=decision, limit=batch_size)
            if not rows:
                return
            for row in rows:
                yield self._edge(row)
            after = (rows[-1]["a"], rows[-1]["b"])

    # -- entities --------------------------------------------------------------------
    def upsert_entities(self, entities: Sequence[Entity]) -> None:
        if not entities:
            return
        now = utcnow()
        rows = [
            {
                "id": e.id,
                "kind": e.kind,
                "attrs": _dumps(e.attrs),
                "created_at": e.created_at or now,
                "updated_at": e.updated_at or now,
            }
            for e in entities
        ]
        self._write_blind("entities_upsert", "rows", rows)

    @staticmethod
    def _entity(row: dict[str, Any]) -> Entity:
        return Entity(row["id"], row["kind"], jsontext.loads(row["attrs"]), row["created_at"], row["updated_at"])

    def get_entities(self, ids: Iterable[str]) -> dict[str, Entity]:
        return {row["id"]: self._entity(row) for row in self._query_keys("entities_get", ids, param="ids")}

    def delete_entities(self, ids: Iterable[str]) -> None:
        ids = _unique(ids)
        if ids:
            self._write_blind("entities_delete", "ids", ids)

    def list_entities(self, kind: str | None = None, after: str | None = None, limit: int = 100) -> list[Entity]:
        if kind:
            rows = self._query("entities_page_of_kind", kind=kind, after=after or "", limit=limit)
        else:
            rows = self._query("entities_page", after=after or "", limit=limit)
        return [self._entity(row) for row in rows]

    def _set_links(self, rel: str, mapping: Mapping[str, str | None]) -> None:
        """Replace one outgoing link per left key (`<rel>_replace`: the old link goes, the new one
        is made), one statement per chunk, one transaction.

        A link whose target entity does not exist is not created (there is no node to point at).
        """
        if not mapping:
            return
        rows = [[k, v] for k, v in mapping.items()]
        self._write_blind(f"{rel}_replace", "rows", rows)

    def _one_to_one(self, name: str, keys: Iterable[str]) -> dict[str, str]:
        """Key -> the one linked id, from a statement returning `pairs` [key, id] (one row a chunk)."""
        return {k: v for chunk in self._query_keys(name, keys) for k, v in chunk["pairs"]}

    def _one_to_many(self, name: str, keys: Iterable[str]) -> dict[str, list[str]]:
        keys = _unique(keys)
        out: dict[str, list[str]] = {k: [] for k in keys}
        for chunk in self._query_keys(name, keys):
            for k, v in chunk["pairs"]:
                out[k].append(v)
        for values in out.values():
            values.sort()
        return out

    def set_memberships(self, mapping: Mapping[str, str | None]) -> None:
        self._set_links("member_of", mapping)

    def entity_of_records(self, record_keys: Iterable[str]) -> dict[str, str]:
        return self._one_to_one("member_of_by_record", record_keys)

    def members_of(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._one_to_many("member_of_by_entity", entity_ids)

    def region_step(self, record_keys: Iterable[str]) -> RegionStep:
        keys = _unique(record_keys)
        if len(keys) > READ_CHUNK:  # more than one statement takes: the four chunked reads
            return super().region_step(keys)
        row = self._read(lambda tx: _run(tx, "region_step", keys=keys, decision=MATCH))[0]
        members: dict[str, list[str]] = {eid: [] for eid in {eid for _, eid in row["owners"]}}
        for eid, rk in row["members"]:
            members[eid].append(rk)
        for ms in members.values():
            ms.sort()
        overrides = sorted((self._override(p) for p in row["overrides"]), key=lambda o: (o.created_at, o.id))
        return RegionStep(
            entity_of={rk: eid for rk, eid in row["owners"]},
            members=members,
            matches=[self._edge(m) for m in sorted(row["matches"], key=lambda m: (m["a"], m["b"]))],
            overrides=overrides,
        )

    def all_memberships(self) -> dict[str, str]:
        return {row["lhs"]: row["rhs"] for row in self._query("member_of_all")}

    def set_account_links(self, mapping: Mapping[str, str | None]) -> None:
        self._set_links("belongs_to", mapping)

    def accounts_of(self, person_ids: Iterable[str]) -> dict[str, str]:
        return self._one_to_one("belongs_to_by_person", person_ids)

    def persons_of(self, account_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._one_to_many("belongs_to_by_account", account_ids)

    def set_parent_links(self, mapping: Mapping[str, str | None]) -> None:
        self._set_links("child_of", mapping)

    def parents_of(self, account_ids: Iterable[str]) -> dict[str, str]:
        return self._one_to_one("child_of_by_child", account_ids)

    def children_of(self, account_ids: Iterable[str]) -> dict[str, list[str]]:
        return self._one_to_many("child_of_by_parent", account_ids)

    def add_aliases(self, mapping: Mapping[str, str]) -> None:
        rows = [[alias, target] for alias, target in mapping.items()]
        if rows:
            self._write_blind("aliases_add", "rows", rows)

    def remove_aliases(self, alias_ids: Iterable[str]) -> None:
        ids = _unique(alias_ids)
        if ids:
            self._write_blind("aliases_remove", "ids", ids)

    def entities_and_resolved(
        self, entity_ids: Iterable[str], resolve: Iterable[str]
    ) -> tuple[dict[str, Entity], dict[str, str]]:
        ids, wanted = _unique(entity_ids), _unique(resolve)
        if len(ids) > READ_CHUNK or len(wanted) > READ_CHUNK:
            return super().entities_and_resolved(ids, wanted)
        row = self._query("entities_get_and_alias_hop", ids=ids, hop_ids=wanted)[0]
        entities = {e["id"]: self._entity(e) for e in row["entities"]}
        return entities, self.resolve_ids(wanted, first_hops={h["id"]: h for h in row["hops"]})

    def resolve_ids(self, ids: Iterable[str], first_hops: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, str]:
        """`first_hops`: the aliases_hop rows for `ids` when the caller read them already."""
        out: dict[str, str] = {}
        pending = {i: i for i in _unique(ids)}  # original -> current hop
        for _ in range(65):  # alias chains are short; the bound stops a corrupt cycle
            if not pending:
                break
            if first_hops is not None:
                hops, first_hops = dict(first_hops), None
            else:
                hops = {row["id"]: row for row in self._query_keys("aliases_hop", set(pending.values()), param="ids")}
            nxt: dict[str, str] = {}
            for orig, cur in pending.items():
                hop = hops.get(cur)
                if hop is None:
                    continue
                if hop["live"]:
                    out[orig] = cur
                elif hop["target"] is not None:
                    nxt[orig] = hop["target"]
            pending = nxt
        return out

    def aliases_of(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        roots = _unique(entity_ids)
        seen: dict[str, set[str]] = {r: set() for r in roots}
        frontier: dict[str, list[str]] = {r: [r] for r in roots}
        while frontier:
            pointing: dict[str, list[str]] = defaultdict(list)
            wanted = {i for ids in frontier.values() for i in ids}
            for row in self._query_keys("aliases_pointing_at", wanted, param="ids"):
                pointing[row["target"]].append(row["alias"])
            nxt: dict[str, list[str]] = {}
            for root, ids in frontier.items():
                new = {a for i in ids for a in pointing.get(i, ()) if a != root and a not in seen[root]}
                if new:
                    seen[root].update(new)
                    nxt[root] = sorted(new)
            frontier = nxt
        return {r: sorted(s) for r, s in seen.items()}

    # -- history, overrides, quarantine, runs --------------------------------------
    @staticmethod
    def _reserve(tx: ManagedTransaction, counter: str, n: int) -> int:
        return int(_run(tx, "counter_reserve", name=counter, n=n)[0]["base"])

    @staticmethod
    def _event_rows(events: Sequence[EntityEvent]) -> list[dict[str, Any]]:
        return [
            {
                "entity_id": e.entity_id,
                "type": e.type,
                "at": e.at,
                "run_id": e.run_id,
                "rule_version": e.rule_version,
                "cause": e.cause,
                "actor": e.actor,
                "details": _dumps(e.details),
            }
            for e in events
        ]

    def append_events(self, events: Sequence[EntityEvent]) -> list[EntityEvent]:
        if not events:
            return []
        rows = self._event_rows(events)

        def work(tx: ManagedTransaction) -> list[int]:
            # each chunk numbers its events from the counter, right after the chunk before it
            return [
                int(_run(tx, "events_append", name=EVENT_SEQ, rows=chunk)[0]["base"])
                for chunk in _chunks(rows, WRITE_CHUNK)
            ]

        bases = self._write(work)
        for i, e in enumerate(events):
            chunk, n = divmod(i, WRITE_CHUNK)
            e.seq = bases[chunk] + n + 1
        return list(events)

    @staticmethod
    def _event(props: dict[str, Any]) -> EntityEvent:
        return EntityEvent(
            entity_id=props["entity_id"],
            type=props["type"],
            at=props["at"],
            run_id=props.get("run_id"),
            rule_version=props.get("rule_version"),
            cause=props.get("cause"),
            actor=props.get("actor"),
            details=jsontext.loads(props.get("details") or "{}"),
            seq=props["seq"],
        )

    def events(
        self,
        entity_ids: Iterable[str] | None = None,
        since: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
        types: Iterable[str] | None = None,
    ) -> list[EntityEvent]:
        filters: dict[str, Any] = {
            "types": list(types) if types is not None else None,
            "since": since,
            "limit": _NO_LIMIT if limit is None else limit,
        }
        if entity_ids is not None:
            ids = _unique(entity_ids)
            if not ids:
                return []
            if len(ids) <= READ_CHUNK:
                rows = self._query("events_of_entities", ids=ids, after_seq=after_seq, **filters)
            else:  # more ids than one statement takes: merge the chunks' results by seq
                rows = self._query_keys("events_of_entities", ids, param="ids", after_seq=after_seq, **filters)
                rows.sort(key=lambda r: r["event"]["seq"])
                rows = rows[: filters["limit"]]
        else:
            rows = self._query("events_page", after_seq=-1 if after_seq is None else after_seq, **filters)
        return [self._event(row["event"]) for row in rows]

    @staticmethod
    def _override(props: dict[str, Any]) -> Override:
        return Override(
            id=props["id"],
            kind=props["kind"],
            a=props["a"],
            b=props["b"],
            actor=props["actor"],
            reason=props["reason"],
            created_at=props["created_at"],
            removed_at=props.get("removed_at"),
            removed_by=props.get("removed_by"),
            removed_reason=props.get("removed_reason"),
        )

    def add_override(self, override: Override) -> None:
        o = override
        props = {
            "id": o.id, "kind": o.kind, "a": o.a, "b": o.b, "actor": o.actor, "reason": o.reason,
            "created_at": o.created_at, "removed_at": o.removed_at, "removed_by": o.removed_by,
            "removed_reason": o.removed_reason,
        }  # fmt: skip
        self._update("override_add", props=props)

    def remove_override(self, override_id: str, actor: str, reason: str, at: str) -> Override | None:
        rows = self._write(lambda tx: _run(tx, "override_remove", id=override_id, at=at, actor=actor, reason=reason))
        return self._override(rows[0]["override"]) if rows else None

    def get_overrides(self, active_only: bool = True, record_keys: Iterable[str] | None = None) -> list[Override]:
        keys = _unique(record_keys) if record_keys is not None else None
        rows = self._query("overrides_list", active_only=active_only, keys=keys)
        return [self._override(row["override"]) for row in rows]

    def add_quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        if not rows:
            return
        params = [
            {
                "source": q.source, "file": q.file, "line": q.line, "raw": q.raw, "reason": q.reason,
                "batch_id": q.batch_id, "at": q.at,
            }  # fmt: skip
            for q in rows
        ]

        def work(tx: ManagedTransaction) -> None:
            for chunk in _chunks(params, WRITE_CHUNK):  # each chunk numbered right after the one before
                _run(tx, "quarantine_add", name="quarantine_id", rows=chunk)

        self._write(work)

    def quarantined(self, source: str | None = None, limit: int | None = None) -> list[QuarantineRow]:
        rows = self._query("quarantine_list", source=source or None, limit=_NO_LIMIT if limit is None else limit)
        return [
            QuarantineRow(
                source=p["source"], file=p["file"], line=p["line"], raw=p["raw"], reason=p["reason"],
                batch_id=p.get("batch_id"), at=p["at"], id=p["id"],
            )  # fmt: skip
            for p in (row["row"] for row in rows)
        ]

    @staticmethod
    def _run_props(run: Run) -> dict[str, Any]:
        return {
            "id": run.id, "kind": run.kind, "started_at": run.started_at, "finished_at": run.finished_at,
            "rule_version": run.rule_version, "stats": _dumps(run.stats),
        }  # fmt: skip

    def save_run(self, run: Run) -> None:
        self._update_blind("run_save", props=self._run_props(run))

    def close_run(self, run: Run, events: Sequence[EntityEvent], meta: Mapping[str, str]) -> list[EntityEvent]:
        if len(events) > WRITE_CHUNK:
            return super().close_run(run, events, meta)
        rows = self._event_rows(events)
        params = {
            "name": EVENT_SEQ, "rows": rows, "meta": [[k, v] for k, v in meta.items()], "run": self._run_props(run),
        }  # fmt: skip
        base = self._write(lambda tx: _run(tx, "run_close", **params))[0]["base"]
        for i, e in enumerate(events):
            e.seq = int(base) + i + 1
        return list(events)

    def runs(self, kind: str | None = None, limit: int = 20) -> list[Run]:
        rows = self._query("runs_list", kind=kind or None, limit=limit)
        return [
            Run(p["id"], p["kind"], p["started_at"], p.get("finished_at"), p.get("rule_version"), jsontext.loads(p["stats"]))
            for p in (row["run"] for row in rows)
        ]

    def get_meta(self, key: str) -> str | None:
        rows = self._query("meta_get", key=key)
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._update_blind("meta_set", key=key, value=value)

    # -- health, API keys, search lookups -------------------------------------------
    def ping(self) -> None:
        self._query("ping")

    @staticmethod
    def _api_key(props: dict[str, Any]) -> ApiKey:
        return ApiKey(
            id=props["id"],
            name=props["name"],
            role=props["role"],
            key_hash=props["key_hash"],
            created_at=props["created_at"],
            revoked_at=props.get("revoked_at"),
            hint=props.get("hint") or "",
        )

    def add_api_key(self, key: ApiKey) -> None:
        props = {
            "id": key.id, "name": key.name, "role": key.role, "key_hash": key.key_hash,
            "created_at": key.created_at, "revoked_at": key.revoked_at, "hint": key.hint,
        }  # fmt: skip
        self._update("api_key_add", props=props)

    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        rows = self._query("api_key_by_hash", key_hash=key_hash)
        return self._api_key(rows[0]["key"]) if rows else None

    def list_api_keys(self, include_revoked: bool = True) -> list[ApiKey]:
        return [self._api_key(row["key"]) for row in self._query("api_keys_list", include_revoked=include_revoked)]

    def revoke_api_key(self, key_id: str, at: str) -> ApiKey | None:
        rows = self._write(lambda tx: _run(tx, "api_key_revoke", id=key_id, at=at))
        return self._api_key(rows[0]["key"]) if rows else None

    def records_by_source_id(self, source_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = _unique(source_ids)
        out: dict[str, list[str]] = {i: [] for i in ids}
        for row in self._query_keys("records_by_source_id", ids):
            out[row["source_id"]].append(row["key"])
        for keys in out.values():
            keys.sort()
        return out

    def records_by_name(self, names: Iterable[str], limit: int | None = None) -> dict[str, list[str]]:
        names = _unique(names)
        out: dict[str, list[str]] = {n: [] for n in names}
        for row in self._query_keys("records_by_name", names, limit=_NO_LIMIT if limit is None else limit):
            out[row["name"]] = row["keys"]
        return out
