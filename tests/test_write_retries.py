"""The Neo4j store's writes retried after a real deadlock leave exactly what one clean attempt
leaves.

Writes run as managed transactions (`session.execute_write`): on a transient error (a
deadlock, a lock wait cut short) the driver rolls the attempt back and calls the transaction
function again, which re-reads the store. Deadlocks are rare enough that ordinary loads
never showed one, so these tests make one on purpose, on the real server (`LockHolder`:
hold the load counter that `records_write` takes last, wait until the server reports the
store's transaction waiting for it, then ask for a lock that transaction holds), count the
attempts by wrapping the transaction function, and compare the whole graph (records with
every property, identifiers, HAS links, counters) with a control run of the same writes
without the deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from neo4j.exceptions import ConstraintError

from graphstore import jsontext
from graphstore.model import EncodedRecord, content_hash
from graphstore.neo4j_store import Neo4jStore

from conftest import _open_neo4j
from lock_holder import Attempts, LockHolder
from test_load import GOOD, HEADER, SHOP, fresh, snapshot, write

pytestmark = pytest.mark.neo4j

LOADED_AT = "2024-01-01T00:00:00+00:00"  # given, so that bodies compare exactly across runs


def _rec(sid: str, idents: list[tuple[str, str, str]], version: int = 1) -> EncodedRecord:
    attrs = {"id": sid, "version": version}
    h = content_hash("retry", sid, attrs, {}, idents, None)
    return EncodedRecord(f"retry:{sid}", "retry", sid, jsontext.dumps(attrs), "{}", idents, None, h, LOADED_AT)


# Five records sharing an email; version 2 moves three of them to another email (the first
# one's old identifier loses links, a new one appears), changes one in place and keeps one.
V1 = [_rec(str(i), [("email", "shared@retry.example", "email"), ("user_id", f"u{i}", "id")]) for i in range(5)]
V2 = [
    *(_rec(str(i), [("email", "moved@retry.example", "email"), ("user_id", f"u{i}", "id")], 2) for i in range(3)),
    _rec("3", [("email", "shared@retry.example", "email"), ("user_id", "u3", "id")], 2),
    V1[4],
]


def graph(store: Neo4jStore) -> dict[str, Any]:
    """Everything the graph holds, read raw: every node with its labels and properties (keyed
    by its key or name), and every relationship as (type, from key, to key, properties),
    duplicates kept. Two runs that reach the same state give equal values."""
    q = store.driver.execute_query
    nodes = q("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props").records
    rels = q(
        "MATCH (a)-[r]->(b) RETURN type(r) AS type, coalesce(a.key, a.id) AS a, coalesce(b.key, b.id) AS b, "
        "properties(r) AS props"
    ).records
    return {
        "nodes": sorted((sorted(r["labels"]), sorted(r["props"].items())) for r in nodes),
        "rels": sorted((r["type"], r["a"], r["b"], sorted(r["props"].items())) for r in rels),
    }


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except BaseException as exc:  # re-raised by _join
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    return t, out


def _join(t: threading.Thread, out: list[Any]) -> Any:
    t.join(60)
    assert not t.is_alive()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


@pytest.fixture
def neo4j(tmp_path: Path) -> Iterator[Neo4jStore]:
    with fresh("neo4j", tmp_path) as store:
        assert isinstance(store, Neo4jStore)
        yield store


def _lock_record(key: str) -> Callable[[Any], Any]:
    """The holder's request: the write lock of one record node (a test probe, rolled back)."""
    return lambda tx: tx.run("MATCH (r:Record {key: $key}) SET r.lock_probe = true", key=key).consume()


@pytest.mark.parametrize("holder_commits", [False, True], ids=["holder-rolls-back", "holder-commits-a-write"])
def test_an_update_retried_after_a_deadlock_writes_what_one_attempt_writes(neo4j: Neo4jStore, holder_commits: bool) -> None:
    """An update batch (unlinks, relinks, history, a deleted identifier, a load number) is
    aborted by a deadlock with a transaction that holds the load counter and then wants one
    of the batch's records, and retried. With the holder rolled back, the retry must write
    exactly what one clean attempt writes; with the holder committing its own write of that
    record (the same content as the batch's), the retry re-reads the store and must write
    what the batch writes after that write: the record is then unchanged."""
    theirs = V2[0]  # the holder's write: the batch's own new version of retry:0

    neo4j.upsert_encoded(V1)
    if holder_commits:
        neo4j.upsert_encoded([theirs])
    expected_result = neo4j.upsert_encoded(V2)
    expected = graph(neo4j)
    neo4j.wipe()

    neo4j.upsert_encoded(V1)
    attempts = Attempts(neo4j)
    holder = LockHolder(neo4j)
    try:
        holder.hold_counter()
        t, out = _in_thread(lambda: neo4j.upsert_encoded(V2))
        blocked = holder.wait_until_blocking()
        assert blocked[0]["query"].startswith("// Writes a chunk")  # records_write, at the counter
        if holder_commits:  # the store's own write, in the holder's transaction (records_state, unlink, write)
            holder.start(lambda tx: Neo4jStore._upsert_tx(tx, [theirs], LOADED_AT))
        else:
            holder.start(_lock_record(theirs.key))
        holder.finish(commit=holder_commits)  # it got the lock: the store's transaction was the one aborted
    finally:
        holder.close()
    result = _join(t, out)

    assert len(attempts) == 2  # the deadlock, then the retry
    assert result == expected_result
    if holder_commits:
        assert theirs.key in result.unchanged
    assert graph(neo4j) == expected


def test_a_bulk_load_retried_after_a_deadlock_still_falls_back_on_a_key_another_writer_added(
    neo4j: Neo4jStore,
) -> None:
    """The fresh-store path (no read of the records' state) under a deadlock: the attempt is
    aborted while the holder, another writer, is creating one of the batch's keys; the holder
    commits it, the retried fresh attempt fails on the record key constraint, and the batch
    goes the normal way: an update of that record, the rest inserted, as without the deadlock."""
    batch = [_rec(str(i), [("email", "shared@retry.example", "email"), ("user_id", f"u{i}", "id")]) for i in range(5)]
    theirs = _rec("2", [("email", "theirs@retry.example", "email"), ("user_id", "u2", "id")], 0)

    with neo4j.bulk_load():
        assert neo4j._fresh
        with _open_neo4j() as other:
            other.upsert_encoded([theirs])
        expected_result = neo4j.upsert_encoded(batch)
    expected = graph(neo4j)
    assert expected_result.updated == [theirs.key]
    neo4j.wipe()

    attempts = Attempts(neo4j)
    with neo4j.bulk_load():
        assert neo4j._fresh
        holder = LockHolder(neo4j)
        try:
            holder.hold_counter()
            t, out = _in_thread(lambda: neo4j.upsert_encoded(batch))
            holder.wait_until_blocking()
            holder.start(lambda tx: Neo4jStore._upsert_tx(tx, [theirs], LOADED_AT, True))
            holder.finish(commit=True)
        finally:
            holder.close()
        result = _join(t, out)
        assert not neo4j._fresh  # off after the fallback, for the rest of the load

    # fresh (deadlock), fresh again (the key exists now: ConstraintError), then the normal way
    assert [call[2:] for call in attempts.calls] == [(True,), (True,), ()]
    assert result == expected_result
    assert graph(neo4j) == expected


def test_a_small_file_load_in_one_transaction_is_retried_from_the_start(neo4j: Neo4jStore, tmp_path: Path) -> None:
    """A small file loads in one transaction (`in_one_transaction`: its run row, quarantine
    and records). Aborted by a deadlock at its record write, the whole file is loaded again:
    once in the end, with one run, each quarantined row once and the same summary."""
    from loaders.load import load_file

    f = write(tmp_path / "shop.csv", HEADER + "".join(GOOD) + "4,No Email,,,,,,\n")
    clean = load_file(neo4j, SHOP, f)
    assert clean.quarantined == 1
    expected = snapshot(neo4j), len(neo4j.runs(limit=100))
    neo4j.wipe()

    attempts = Attempts(neo4j)
    holder = LockHolder(neo4j)
    try:
        holder.hold_counter()
        t, out = _in_thread(lambda: load_file(neo4j, SHOP, f))
        holder.wait_until_blocking()
        holder.start(lambda tx: tx.run("MERGE (r:Record {key: $key})", key="shop:1").consume())
        holder.finish()
    finally:
        holder.close()
    summary = _join(t, out)

    assert len(attempts) == 2
    assert (summary.read, summary.inserted, summary.quarantined) == (clean.read, clean.inserted, clean.quarantined)
    assert (snapshot(neo4j), len(neo4j.runs(limit=100))) == expected


def test_a_failed_transaction_block_leaves_the_thread_free(neo4j: Neo4jStore) -> None:
    """A store error that ends an `in_one_transaction` block (here a duplicate override id,
    not retryable) is raised, and the thread's later store calls run in transactions of their
    own, not in the failed block's (closed) one."""
    from graphstore.model import Override

    o = Override(id="o1", kind="link", a="x:1", b="x:2", actor="t", reason="r", created_at=LOADED_AT)
    neo4j.add_override(o)

    def work() -> None:
        neo4j.set_meta("inside", "1")
        neo4j.add_override(o)  # the id exists: ConstraintError

    with pytest.raises(ConstraintError):
        neo4j.in_one_transaction(work)
    neo4j.set_meta("after", "2")
    assert (neo4j.get_meta("inside"), neo4j.get_meta("after")) == (None, "2")
    assert neo4j.in_one_transaction(lambda: neo4j.get_meta("after")) == "2"

