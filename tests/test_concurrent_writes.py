"""Concurrent writers: the loader's writer threads (two for Neo4j, see
`GraphStore.concurrent_writes`) and separate loads sharing one store.

Neo4j's records_write takes the load number at the end of its statement, so one batch's
statement runs while another commits. These tests check what that must not change: loads
running at once reach the state sequential ones reach, and load numbers still become
visible in order (a reader that has seen a watermark never later finds a record at or
below it: incremental resolution would skip it).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from graphstore.model import EncodedRecord, content_hash
from graphstore.store import GraphStore
from loaders.generate import generate
from loaders.load import _Writer, load_file

from test_load import NOISY, fresh, snapshot, totals


def test_writer_threads_run_a_barrier_after_everything_queued_before_it() -> None:
    """With several writer threads, calls run concurrently, but a barrier call (a file's
    summary and run row) starts only once every call queued before it has finished."""
    writer = _Writer(threads=2)
    finished: list[int] = []
    lock = threading.Lock()

    def slow(n: int) -> None:
        time.sleep(0.05 * (3 - n))  # the first queued finishes last
        with lock:
            finished.append(n)

    for n in range(3):
        writer.put(lambda n=n: slow(n))
    writer.put(lambda: finished.append(-1), barrier=True)
    writer.finish()
    assert sorted(finished[:3]) == [0, 1, 2] and finished[3] == -1
    assert finished[:3] != [0, 1, 2]  # they did overlap: the later ones finished first


def test_a_failed_write_stops_the_writers_and_is_raised() -> None:
    writer = _Writer(threads=2)
    ran: list[int] = []

    def fail() -> None:
        raise RuntimeError("boom")

    writer.put(fail)
    time.sleep(0.1)
    with pytest.raises(RuntimeError, match="boom"):
        writer.put(lambda: ran.append(1))
    with pytest.raises(RuntimeError, match="boom"):
        writer.finish()
    assert ran == []


def _in_turn(store_kind: str, path: Path, files: dict[str, Path]) -> dict[str, Any]:
    """The store's state after loading `files` one after the other (the expected state)."""
    with fresh(store_kind, path) as store:
        for source, f in files.items():
            load_file(store, source, f, batch_size=60, workers=0)
        expected = snapshot(store)
        store.wipe()
    return expected


def _loading_threads(
    store: GraphStore, files: dict[str, Path], summaries: dict[str, Any], errors: list[BaseException]
) -> list[threading.Thread]:
    """A thread per file that loads it into `store` (not started); summaries and errors are kept."""

    def load(source: str) -> None:
        try:
            summaries[source] = load_file(store, source, files[source], batch_size=60, workers=0)
        except BaseException as exc:  # re-raised by the test
            errors.append(exc)

    return [threading.Thread(target=load, args=(s,)) for s in files]


def test_two_loads_at_once_reach_the_state_of_two_in_turn(store_kind: str, tmp_path: Path) -> None:
    """Two sources loaded into one store by two threads at once (small batches so that they
    interleave; the sources share identifiers) leave exactly what loading them one after the
    other leaves. crm goes through the store's writer threads; billing (300 rows, under 64 KiB)
    loads as one transaction of five record writes, which holds the identifiers and the load
    counter its first writes took while it merges the next: on Neo4j that deadlocks with crm's
    writers in most runs (1 or 2 driver retries in 4 runs of 5), by timing. The test below
    makes two threaded loads contend and deadlock every time."""
    data = tmp_path / "data"
    g = generate(data, records=3000, seed=17, noise=NOISY)
    files = {"crm": data / "crm.csv", "billing": data / "billing.csv"}
    expected = _in_turn(store_kind, tmp_path / "seq", files)
    with fresh(store_kind, tmp_path / "conc") as store:
        summaries: dict[str, Any] = {}
        errors: list[BaseException] = []
        threads = _loading_threads(store, files, summaries, errors)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert totals(summaries)["read"] == g.counts["crm"] + g.counts["billing"]
        assert all(s.balanced for s in summaries.values())
        assert snapshot(store) == expected
        shared = [k for k, d in expected["identifiers"].items() if d > 1]
        assert shared  # the two sources did share identifiers (a real test of concurrent merges)


def _batch(writer: int, n: int, size: int) -> list[EncodedRecord]:
    out = []
    for i in range(size):
        sid = f"w{writer}-{n}-{i}"
        idents = [("email", f"shared{(n + i) % 7}@example.com", "email"), ("user_id", sid, "id")]
        h = content_hash("conc", sid, {"id": sid}, {}, idents, None)
        out.append(EncodedRecord(f"conc:{sid}", "conc", sid, f'{{"id":"{sid}"}}', "{}", idents, None, h))
    return out


def test_load_numbers_become_visible_in_order(store: GraphStore) -> None:
    """Writers upsert at once while a reader samples the load watermark and then the records
    at or below it; once all is written, each sample must still hold exactly the records at
    or below its watermark. A number taken early and committed late (writer A takes 5,
    B takes 6 and commits first) would show up as a record missing from a sample.

    The reader paces the writers: each sample lets each writer start one more batch. Left
    to the scheduler, on a busy host the writers could finish before the reader sampled
    more than once or twice (seen once under load), and the test would check nothing."""
    writers, batches, size = 4, 12, 25
    done = threading.Event()
    turns = threading.Semaphore(writers)  # batches the writers may start before the next sample
    samples: list[tuple[str, set[str]]] = []
    errors: list[BaseException] = []

    def write(w: int) -> None:
        try:
            for n in range(batches):
                turns.acquire(timeout=10)  # a reader that died must not hang the writers
                store.upsert_encoded(_batch(w, n, size))
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    def read() -> None:
        try:
            while not done.is_set():
                mark = store.load_watermark()
                every = set(store.records_loaded_since(None))
                samples.append((mark, every - set(store.records_loaded_since(mark))))
                for _ in range(writers):
                    turns.release()
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    reader.join()
    assert not errors, errors
    every = set(store.records_loaded_since(None))
    assert len(every) == writers * batches * size
    assert len({mark for mark, _ in samples}) > 3  # the reader saw the watermark move
    for mark, seen in samples:
        assert seen == every - set(store.records_loaded_since(mark)), mark


@pytest.mark.neo4j
def test_a_bulk_load_into_an_empty_store_still_merges_a_record_another_writer_added(tmp_path: Path) -> None:
    """Neo4j writes a bulk load into a store with no records without reading their state
    first. A record another writer adds meanwhile is not lost or duplicated: the batch that
    meets it fails on the key constraint and is written again the normal way (an update)."""
    from conftest import _open_neo4j

    with fresh("neo4j", tmp_path) as store, _open_neo4j() as other:
        batch = _batch(0, 0, 5)
        with store.bulk_load():
            assert store._fresh  # type: ignore[attr-defined]  # the no-read path is on
            other.upsert_encoded([batch[2]._replace(attrs='{"id":"before"}', content_hash="0" * 32)])
            result = store.upsert_encoded(batch)
            assert not store._fresh  # type: ignore[attr-defined]  # off after the fallback
            later = store.upsert_encoded(_batch(0, 1, 5))  # the normal way
        assert (sorted(result.inserted), result.updated) == (sorted(r.key for i, r in enumerate(batch) if i != 2),
                                                            [batch[2].key])
        assert len(later.inserted) == 5
        assert store.counts()["records"] == 10
        rec = store.get_records([batch[2].key])[batch[2].key]
        assert rec.content_hash == batch[2].content_hash and [h["content_hash"] for h in rec.history] == ["0" * 32]
        assert store.get_identifiers(["user_id:w0-0-2"])["user_id:w0-0-2"].degree == 1


def _upserts(store: GraphStore) -> list[int]:
    """Counts a store's upsert calls (one per batch, however many attempts its transaction takes)."""
    calls: list[int] = []
    inner = store._upsert

    def counted(records: Any) -> Any:
        calls.append(len(records))
        return inner(records)

    store._upsert = counted  # type: ignore[method-assign]
    return calls


@pytest.mark.neo4j
def test_two_threaded_loads_that_contend_and_deadlock_reach_the_state_of_two_in_turn(tmp_path: Path) -> None:
    """Two loads at once, each through the store's two writer threads, made to contend for
    sure: a transaction holding the load counter (that `records_write` takes last) keeps
    their first batches in flight together until the server reports all four writers
    waiting, and some of them waiting for another writer's lock (identifiers or keys both
    batches write), not for the counter. It then asks for a record key one writer holds,
    which deadlocks that writer: its batch is retried by the driver. The loads must still
    end exactly where loading the two files one after the other ends."""
    from lock_holder import Attempts, LockHolder
    from loaders.load import _small

    data = tmp_path / "data"
    generate(data, records=4000, seed=17, noise=NOISY)
    files = {"crm": data / "crm.csv", "billing": data / "billing.csv"}
    assert not any(_small(f) for f in files.values())  # both go through writer threads, not one transaction
    expected = _in_turn("neo4j", tmp_path / "seq", files)
    with fresh("neo4j", tmp_path / "conc") as store:
        upserts, attempts = _upserts(store), Attempts(store)  # type: ignore[arg-type]
        summaries: dict[str, Any] = {}
        errors: list[BaseException] = []
        holder = LockHolder(store)  # type: ignore[arg-type]
        threads = _loading_threads(store, files, summaries, errors)
        try:
            holder.hold_counter()
            for t in threads:
                t.start()

            def writers() -> list[dict[str, Any]]:
                found = [r for r in holder.waiting() if r["query"].startswith("// Writes a chunk")]  # records_write
                return found if len(found) == 4 else []

            waiting = holder.wait_until(writers, "both loads' two writers waiting")
            source = {w["id"]: w["params"]["creates"][0][1] for w in waiting}
            assert sorted(source.values()) == sorted([*files, *files])
            # The server names, for each, the transactions ahead of it in its wait: the holder
            # alone for a writer waiting at the counter, writers too for one waiting for their
            # locks (identifiers both batches write). Some wait for a writer of the other load.
            assert any(source[w["id"]] != source.get(b, source[w["id"]]) for w in waiting for b in w["by"])
            victim = next(w for w in waiting if w["by"] == [holder.id])  # past its creates: it holds their keys
            holder.start(lambda tx: tx.run("MERGE (r:Record {key: $key})", key=victim["params"]["creates"][0][0]).consume())
            holder.finish()  # the writer was aborted (deadlock), the holder rolls back
        finally:
            holder.close()
            for t in threads:
                t.join()
        assert not errors, errors
        assert all(s.balanced for s in summaries.values())
        assert len(attempts) > len(upserts)  # the deadlocked batch ran again
        assert snapshot(store) == expected
