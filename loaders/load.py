"""Loading: a source file through its mapping into the store, in batches, with a summary.

Guarantees:
- nothing is silently dropped: every row read is inserted, updated, unchanged or
  quarantined (with source, file, line, raw text and reason), and
  `read == inserted + updated + unchanged + quarantined`;
- a file that is malformed as a whole (encoding, header, delimiter, not JSON lines) is
  rejected by `readers.check_file` before the first write, so nothing of it is stored;
- idempotent: loading the same file again changes nothing (unchanged rows are not
  rewritten, quarantine rows already kept for that file/line/reason are not added
  again), and a load killed midway can simply be rerun: every batch is one store
  transaction, and the rerun reaches the same final state as an uninterrupted load;
- within one file the first row with an ID wins; a later row with the same ID and
  different content is quarantined ("duplicate id"), an identical repeat counts as
  unchanged.

Speed: reading and normalizing (this process, or for large files worker processes that
read their own blocks of the file, see `parallel`) overlap with the store writes, which
writer threads take batch by batch in file order: one for SQLite, two for Neo4j (as many as
`GraphStore.concurrent_writes`), so that the server runs one batch's statement while it
commits another. Batches of one load never share a record (the first row with an ID wins),
so their order of commit does not matter. The store spends most of a write outside the GIL
(SQLite's C library, or waiting for the Neo4j server), so the next batch is converted
meanwhile. At most `_QUEUED` batches wait for the writers, which bounds memory; a write
error stops the load at the next batch with that error.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphstore.gc_pause import gc_paused
from graphstore.model import EncodedRecord, QuarantineRow, Run, utcnow
from graphstore.store import GraphStore

from .convert import Compact, Converted, Converter, compact_record, convert_rows
from .mapping import SAMPLE_SOURCES, SourceMapping, load_mapping, sample_mapping
from .parallel import Workers, auto_processes
from .readers import FileFormatError, check_file, read_rows

DEFAULT_BATCH = 5000
PARALLEL_MIN_ROWS = 5_000  # below this, worker start-up (~0.1 s) costs more than it saves
# A file at most this large (a few hundred rows) loads as one store transaction
# (GraphStore.in_one_transaction), its writes made on the loading thread: a networked store
# then pays one commit for the file instead of one per write (run row, records, run row),
# which dominated loading a single new record into Neo4j. Larger files keep the writer thread
# and a transaction per batch, so that no transaction grows with the size of a file.
_ONE_TRANSACTION_BYTES = 64 * 1024
_QUEUED = 2  # batches converted ahead of the writer

def _auto_workers(rows: int) -> int:
    return auto_processes() if rows >= PARALLEL_MIN_ROWS else 0

Progress = Callable[[int, int], None]  # (rows done, rows expected)


@dataclass
class LoadSummary:
    """What one load did. `read` = inserted + updated + unchanged + quarantined."""

    source: str
    file: str
    batch_id: str
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    elapsed: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)  # quarantine reason kind -> rows
    invalid_values: Counter[str] = field(default_factory=Counter)  # optional field -> values not usable

    @property
    def balanced(self) -> bool:
        return self.read == self.inserted + self.updated + self.unchanged + self.quarantined

    @property
    def records_per_second(self) -> float:
        return self.read / self.elapsed if self.elapsed > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "file": self.file, "batch_id": self.batch_id, "read": self.read,
            "inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged,
            "quarantined": self.quarantined, "elapsed": round(self.elapsed, 3),
            "reasons": dict(self.reasons), "invalid_values": dict(self.invalid_values),
        }


def new_batch_id(source: str) -> str:
    return f"load-{source}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def _no_raw(line: int) -> str:
    raise AssertionError(f"line {line}: a single-process conversion gives every row's raw text")


def reason_kind(reason: str) -> str:
    """The category before the first colon: "missing id", "wrong type", "duplicate id"..."""
    return reason.split(":", 1)[0]


class _Loader:
    def __init__(
        self, store: GraphStore, mapping: SourceMapping, path: Path, batch_size: int, inline: bool = False,
        writer: _Writer | None = None,
    ) -> None:
        self.store = store
        self.mapping = mapping
        self.path = path
        self.file = str(path.resolve())
        self.batch_size = max(1, batch_size)
        self.batch_id = new_batch_id(mapping.name)
        self.summary = LoadSummary(mapping.name, self.file, self.batch_id)
        self.converter = Converter(mapping)
        self.seen: dict[str, tuple[str, int]] = {}  # source id -> (content hash, first line)
        self.kept_quarantine = {
            (q.line, q.reason, q.raw) for q in store.quarantined(source=mapping.name) if q.file == self.file
        }
        self.records: list[EncodedRecord] = []
        self.rejects: list[QuarantineRow] = []
        self.written: Counter[str] = Counter()  # inserted / updated / unchanged, kept by the writer
        self.progress: Progress | None = None
        self.raw_of: Callable[[int], str] = _no_raw  # a row's raw text by line, when the stream gave None
        self.expected = 0
        # a writer of its own, or the one a folder's files share (see load_folder)
        self.writer = writer if writer is not None else _Writer(inline, store.concurrent_writes)
        self._written_lock = threading.Lock()  # writer threads add up `written` and report progress
        self._reported = 0

    def _write_item(self, item: tuple[list[EncodedRecord], list[QuarantineRow], int | None]) -> None:
        records, rejects, done = item
        self.write(records, rejects)
        if done is not None and self.progress:
            with self._written_lock:  # batches may finish out of order: progress never goes back
                if done > self._reported:
                    self._reported = done
                    self.progress(done, max(self.expected, done))

    def quarantine(self, line: int, raw: str, reason: str) -> None:
        self.summary.quarantined += 1
        self.summary.reasons[reason_kind(reason)] += 1
        key = (line, reason, raw)
        if key not in self.kept_quarantine:
            self.kept_quarantine.add(key)
            self.rejects.append(QuarantineRow(self.mapping.name, self.file, line, raw, reason, self.batch_id))

    def flush(self, done: int | None = None) -> None:
        """Hand the pending batch to the writer; `done`: rows read so far, for progress."""
        if self.writer.error is not None:
            raise self.writer.error
        if self.records or self.rejects or done is not None:
            self.writer.put(partial(self._write_item, (self.records, self.rejects, done)))
            self.records, self.rejects = [], []

    def write(self, records: list[EncodedRecord], rejects: list[QuarantineRow]) -> None:
        """One batch into the store (runs on the writer thread): quarantine rows, then the
        records. The upsert itself tells unchanged records by content hash (and writes
        nothing for them), so no separate read of the stored hashes goes first: in Neo4j
        that read was a second round trip and index seek per record, in a load of new
        records all misses."""
        if rejects:
            self.store.add_quarantine(rejects)
        if records:
            result = self.store.upsert_encoded(records)
            with self._written_lock:
                self.written["inserted"] += len(result.inserted)
                self.written["updated"] += len(result.updated)
                self.written["unchanged"] += len(result.unchanged)

    def handle(self, line: int, raw: str | None, result: Compact | str, loaded_at: str) -> None:
        """One row's outcome: a compact record, or the reason it is quarantined. `raw` is None
        for a record whose raw text the worker did not send; `raw_of(line)` reads it again."""
        if isinstance(result, str):
            self.quarantine(line, raw if raw is not None else self.raw_of(line), result)
            return
        sid, h = result[0], result[5]
        first = self.seen.get(sid)
        if first is None:
            self.seen[sid] = (h, line)
            self.records.append(compact_record(self.mapping.name, result, self.batch_id, loaded_at))
        elif first[0] == h:
            self.summary.unchanged += 1
        else:
            self.quarantine(
                line, raw if raw is not None else self.raw_of(line),
                f"duplicate id: {sid!r} already read at line {first[1]} with different content",
            )

    def run(self, progress: Progress | None, workers: int | None, pool: Workers, wait: bool = True) -> LoadSummary:
        """Read, convert and hand every batch to the writer. `wait`: return once all is
        written and the summary complete; otherwise return after the last batch is queued,
        and the writer completes the summary and the run row after writing it (the caller
        then waits for the writer before reading the summary)."""
        started = time.perf_counter()
        check = check_file(self.path, self.mapping)
        run = Run(
            id=self.batch_id, kind="load", started_at=utcnow(),
            stats={"source": self.mapping.name, "file": self.file, "status": "running"},
        )
        self.store.save_run(run)
        loaded_at = utcnow()
        s = self.summary
        self.progress, self.expected = progress, check.lines
        n_workers = _auto_workers(check.lines) if workers is None else workers
        if n_workers > 0 and not pool.started:
            self.writer.finish()  # no fork while a shared writer's thread may hold a lock
        if n_workers > 0:
            conversion = pool.convert(self.path, self.mapping, self.converter.invalid)
            stream: Iterable[Converted] = conversion
            self.raw_of = conversion.raw
        else:
            stream = convert_rows(self.converter, read_rows(self.path, self.mapping))
        handle = self.handle
        pending = 0
        try:
            for line, raw, result in stream:
                s.read += 1
                pending += 1
                handle(line, raw, result, loaded_at)
                if pending >= self.batch_size:
                    self.flush(s.read)
                    pending = 0
            self.flush()
            self.writer.put(partial(self._close, run, started, n_workers), barrier=True)
        finally:
            if wait:
                self.writer.finish()
        return s

    def _close(self, run: Run, started: float, n_workers: int) -> None:
        """After the file's last batch is written (on the writer): the summary and the run row."""
        s = self.summary
        s.inserted += self.written["inserted"]
        s.updated += self.written["updated"]
        s.unchanged += self.written["unchanged"]
        s.invalid_values = Counter(self.converter.invalid)
        s.elapsed = time.perf_counter() - started
        if self.progress:
            self.progress(s.read, s.read)
        run.finished_at = utcnow()
        run.stats = {**s.as_dict(), "status": "done", "workers": n_workers}
        self.store.save_run(run)


class _Writer:
    """Writer threads that perform store writes (calls queued as `put(fn)`), taking them in
    the order they were queued: one thread, or as many as the store takes concurrent writes
    (`GraphStore.concurrent_writes`), so that one batch's write runs while another commits.
    A `barrier` call runs only once every call queued before it has finished (a file's
    summary and run row come after all its batches).

    Started on the first batch (after any worker processes were forked). After a failed
    write it starts no more writes (a write already running on another thread finishes);
    the error is raised in the loading thread at the next `put` or at `finish`, so a load
    stops where a crash would stop it: batches are independent transactions, and a rerun
    reaches the same final state whichever of them were committed.
    """

    def __init__(self, inline: bool = False, threads: int = 1) -> None:
        self._inline = inline  # write on the caller's thread (a small file in one transaction)
        self._n = max(1, threads)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUED)
        self._threads: list[threading.Thread] = []
        self._open: set[int] = set()  # numbers of calls queued and not yet finished
        self._next = 0
        self._done = threading.Condition()
        self.error: BaseException | None = None

    def _loop(self) -> None:
        while (entry := self._queue.get()) is not None:
            number, item, barrier = entry
            try:
                if barrier:
                    with self._done:
                        self._done.wait_for(lambda: min(self._open) == number)
                if self.error is None:
                    item()
            except BaseException as exc:  # re-raised in the loading thread
                if self.error is None:
                    self.error = exc
            finally:
                with self._done:
                    self._open.discard(number)
                    self._done.notify_all()

    def put(self, item: Callable[[], None], barrier: bool = False) -> None:
        if self._inline:
            item()
            return
        if not self._threads:
            self._threads = [threading.Thread(target=self._loop, name=f"loader-writer-{n}", daemon=True)
                             for n in range(self._n)]
            for t in self._threads:
                t.start()
        with self._done:
            number = self._next
            self._next += 1
            self._open.add(number)
        self._queue.put((number, item, barrier))
        if self.error is not None:
            raise self.error

    def finish(self) -> None:
        """Wait for every queued write; raise the first write error, if any."""
        if self._threads:
            for _ in self._threads:
                self._queue.put(None)
            for t in self._threads:
                t.join()
            self._threads = []
        if self.error is not None:
            raise self.error


def load_file(
    store: GraphStore,
    mapping: SourceMapping | str | Path,
    path: str | Path,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    workers: int | None = None,
) -> LoadSummary:
    """Load one file through a mapping (a SourceMapping, a YAML path or a sample source name).

    Raises `FileFormatError` (nothing stored) for a malformed file and `MappingError`
    for a bad mapping; row problems are quarantined, never raised. `workers`: processes
    that normalize rows (None: one per CPU, up to 4, for files of 5k rows or more; 0:
    convert in this process). The result is the same either way.
    """
    with Workers(workers) as pool:
        return _load_file(store, load_mapping(mapping), Path(path), batch_size, progress, workers, pool)


def _load_file(
    store: GraphStore, mapping: SourceMapping, path: Path, batch_size: int, progress: Progress | None,
    workers: int | None, pool: Workers, writer: _Writer | None = None,
) -> LoadSummary:
    """One file. With a shared `writer`, return once its last batch is queued (see load_folder)."""
    with store.bulk_load(), gc_paused():
        if workers in (None, 0) and _small(path):  # None: a small file gets no worker processes anyway
            if writer is not None:  # the files before it are written first, as they would be without sharing
                writer.finish()
            # repeatable: a store may run it again from the start after a transient error
            return store.in_one_transaction(
                lambda: _Loader(store, mapping, path, batch_size, inline=True).run(progress, 0, pool)
            )
        return _Loader(store, mapping, path, batch_size, writer=writer).run(progress, workers, pool,
                                                                           wait=writer is None)


def _small(path: Path) -> bool:
    try:
        return path.stat().st_size <= _ONE_TRANSACTION_BYTES
    except OSError:  # no such file: the loader reports it (FileFormatError)
        return False


def sample_files(folder: str | Path) -> dict[str, Path]:
    """The sample source files present in `folder`: `<source>.<format>` for each shipped mapping."""
    root = Path(folder)
    out = {}
    for source in SAMPLE_SOURCES:
        m = sample_mapping(source)
        p = root / f"{source}.{m.format}"
        if p.is_file():
            out[source] = p
    return out


def load_folder(
    store: GraphStore,
    folder: str | Path,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int, int], None] | None = None,
    workers: int | None = None,
) -> dict[str, LoadSummary]:
    """Load every sample source file found in `folder` (as `generate` writes them) with
    its shipped mapping. Every file is checked before the first one is loaded."""
    files = sample_files(folder)
    if not files:
        raise FileFormatError(
            f"{folder}: no sample source files (expected some of "
            + ", ".join(f"{s}.{sample_mapping(s).format}" for s in SAMPLE_SOURCES) + ")"
        )
    for source, p in files.items():
        check_file(p, sample_mapping(source))
    out = {}
    # One bulk bracket for the folder (the first file must not end it), one pool for its files,
    # and one writer: the next file is read and converted while the last batches of the one
    # before are written (waiting for them left the worker processes idle at each file's end:
    # 0.4-0.7 s of a 100k-record load). Files have different sources, so no write of one
    # depends on another's; each file's summary and run row are completed after its writes.
    writer = _Writer(threads=store.concurrent_writes)
    with store.bulk_load(), Workers(workers) as pool:
        try:
            for source, p in files.items():
                cb = (lambda done, total, _s=source: progress(_s, done, total)) if progress else None
                out[source] = _load_file(store, sample_mapping(source), p, batch_size, cb, workers, pool, writer)
        finally:
            writer.finish()
    return out
