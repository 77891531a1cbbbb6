"""Conversion in worker processes, results back in file order.

Normalizing is pure CPU work (phonenumbers, email-validator, hashing), so large files
are converted by worker processes while the loading process writes the store. Each
worker reads its own block of the file (`readers.Block`), so the loading process
neither parses every row nor pickles it to a worker; it receives each row's line and
compact record, or its raw text and quarantine reason (a record's raw text is read
again from the file in the rare case the loader needs it). Files that cannot be split (parquet,
encodings where a newline byte may be part of another character) are read by the
loading process and sent in chunks of rows instead; the conversion is the same.

The processes are started on first use and serve every file of one load, so phone
metadata and the normalization caches stay warm from one file to the next. They run under
`concurrent.futures.ProcessPoolExecutor`, not `multiprocessing.Pool`: the Pool's worker
handler thread waits on the result pipe too, so while a result sat unread (the loading
process busy) it woke, took the GIL and polled the workers over and over, 0.23-0.29 s
of CPU per 100k rows taken from the loading and writing threads; and a worker that died
(killed for memory) left its task unanswered, the load waiting forever. The executor's one
thread reads each result as it comes, and a dead worker fails the load (`WorkerDied`).
"""

from __future__ import annotations

import bisect
import gc
import multiprocessing
import os
import pickle
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from .convert import Converted, Converter, convert_rows
from .mapping import SourceMapping
from .readers import Block, RawRow, plan_blocks, read_block, read_rows, splittable

BLOCK_BYTES = 256 * 1024  # about 1,000 rows of the sample sources: small to hold, large enough to amortize a task
CHUNK_ROWS = 1000  # rows per task when the loading process reads the file
_IN_FLIGHT = 4  # tasks out per worker: enough to keep it busy, little to hold

Part = Block | list[RawRow]
# The converted rows and the invalid-value counts as JSON; every record's attrs and norm JSON
# text (UTF-8) joined by NULs; the block read (None for a chunk of rows)
Result = tuple[bytes, bytes, Block | None]


class WorkerDied(RuntimeError):
    """A conversion worker process ended mid-load (killed, out of memory): the batches
    written before it stay, and loading the file again finishes the load."""


# -- in the worker ------------------------------------------------------------------------

_converters: dict[bytes, Converter] = {}  # pickled mapping -> its converter, kept across tasks and files


def _init_worker(all_started: Any) -> None:
    gc.disable()  # a worker only converts rows, which make no reference cycles (see gc_pause)
    all_started.wait(timeout=60)  # see Workers._started


def _convert_part(mapping: bytes, path: str, part: Part) -> Result:
    """One block (read here) or chunk of rows, converted; with the block's line and overrun counts.

    What goes back is what the loading process cannot cheaply get itself:
    - a quarantined row as (line, raw text, reason);
    - a record as (line, source_id, identifiers, updated_at, content hash), without its
      raw text: the loader needs that only for the rare later "duplicate id", and then
      reads it again from the file (`Conversion.raw`). Sending it for every row made
      about a third of the bytes;
    - the records' attrs and norm JSON text, not inside the JSON of the rows (where each
      quote would be escaped and unescaped again) but as the UTF-8 bytes the converter
      wrote, joined by NULs, which JSON text never holds raw: the loading process splits
      them apart in one C call and decodes each (bytes rather than text: a str of all
      rows' text costs an encode and a decode of the whole, and splitting it copies
      every piece at its widest character's width).
    The rows go as JSON text (every value in them is a string, a list of strings or an
    int): orjson writes it in a fifth of the time pickle takes for the same rows. Pickle
    remains for what orjson refuses (a lone surrogate from a JSON escape).
    """
    conv = _converters.get(mapping)
    if conv is None:
        conv = _converters[mapping] = Converter(pickle.loads(mapping))
    conv.invalid.clear()
    rows = read_block(path, conv.mapping, part) if isinstance(part, Block) else part
    head: list[tuple[Any, ...]] = []
    texts: list[bytes] = []
    add, add_text = head.append, texts.append
    for line, raw, result in convert_rows(conv, rows, as_bytes=True):
        if type(result) is str:
            add((line, raw, result))
        else:
            sid, attrs, norm, idents, updated_at, h = result
            add((line, sid, idents, updated_at, h))
            add_text(attrs)
            add_text(norm)
    payload = [head, conv.invalid]
    try:
        data = orjson.dumps(payload)
    except orjson.JSONEncodeError:
        data = pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)
    return data, b"\x00".join(texts), part if isinstance(part, Block) else None


def _payload(data: bytes) -> Any:
    return pickle.loads(data) if data[:1] == b"\x80" else orjson.loads(data)


def _rows(head: list[Any], texts: bytes, first: int, part: list[RawRow] | None) -> Iterator[Converted]:
    """A task's rows as (line, raw text, compact record or quarantine reason), lines counted
    from `first`. A record's raw text is None when read from a block (see `Conversion.raw`);
    for a chunk of rows this process read, it is the row's own."""
    parts = texts.split(b"\x00")
    i = 0
    for j, row in enumerate(head):
        if len(row) == 3:
            yield row[0] + first, row[1], row[2]
        else:
            line, sid, idents, updated_at, h = row
            yield (line + first, None if part is None else part[j].raw,
                   (sid, parts[i].decode(), parts[i + 1].decode(), idents, updated_at, h))
            i += 2


# -- in the loading process ---------------------------------------------------------------


def auto_processes() -> int:
    """One worker per CPU, up to 4; none on a single CPU."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(cpus, 4) if cpus > 1 else 0


def _batched(items: Iterable[RawRow], size: int) -> Iterator[list[RawRow]]:
    """Lists of `size` rows (the last may be shorter); itertools.batched needs Python 3.12."""
    it = iter(items)
    while buf := list(islice(it, size)):
        yield buf


class Workers:
    """A pool of `processes` converting workers (None: `auto_processes()`), started on first
    use; a context manager."""

    def __init__(self, processes: int | None) -> None:
        self.processes = max(1, auto_processes() if processes is None else processes)
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def started(self) -> bool:
        """Whether the worker processes exist (they are forked on first use)."""
        return self._pool is not None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            ctx = multiprocessing.get_context(method)
            # Every process is forked here, before the loader starts a writer thread. Python
            # 3.11 forks a process per task submitted while none is idle; each waits in its
            # initializer until all are up, so none can be idle before the last is forked,
            # and one task each forks them all (3.12 forks them all at the first task).
            all_started = ctx.Barrier(self.processes)
            pool = ProcessPoolExecutor(self.processes, mp_context=ctx, initializer=_init_worker,
                                       initargs=(all_started,))
            for started in [pool.submit(os.getpid) for _ in range(self.processes)]:
                started.result()
            self._pool = pool
        return self._pool

    def convert(self, path: Path, mapping: SourceMapping, invalid: Counter[str]) -> Conversion:
        """Every row of a checked file, converted by the workers (see `Conversion`); values
        the converter could not use are added to `invalid`."""
        return Conversion(self._started(), self.processes, path, mapping, invalid)


class Conversion:
    """One file's rows as (line, raw text, compact record or quarantine reason), in file
    order, converted by a pool's workers. A record read from a block comes with no raw
    text (None); `raw(line)` reads it again.

    At most `_IN_FLIGHT` tasks per worker are out at once, which bounds memory (reading
    ahead without a bound held the whole file at 1M records). A block whose last row ran
    past its end (a quoted field with line breaks across the boundary) was read on to the
    end of that row, so the next block, read from its nominal start, is read again from
    where that row ended.
    """

    def __init__(
        self, pool: ProcessPoolExecutor, processes: int, path: Path, mapping: SourceMapping, invalid: Counter[str]
    ) -> None:
        self._pool = pool
        self._limit = _IN_FLIGHT * processes
        self.path = path
        self.mapping = mapping
        self._invalid = invalid
        self._firsts: list[int] = []  # lines before each block read, ascending
        self._blocks: list[Block] = []  # the blocks as read (start, end, header), in that order
        self._reread: tuple[int, dict[int, str]] = (-1, {})  # the last block read again: its index, line -> raw

    def __iter__(self) -> Iterator[Converted]:
        try:
            yield from self._converted()
        except BrokenProcessPool as exc:
            raise WorkerDied(f"{self.path}: a conversion worker process died mid-load ({exc}); the batches"
                             " written before stay, and loading the file again finishes the load") from None

    def _converted(self) -> Iterator[Converted]:
        pool, mapping = self._pool, self.mapping
        blob = pickle.dumps(mapping)
        name = str(self.path)
        if splittable(mapping):
            base, parts = plan_blocks(self.path, mapping, BLOCK_BYTES)
            parts_iter: Iterator[Part] = parts
        else:
            base, parts_iter = 0, _batched(read_rows(self.path, mapping), CHUNK_ROWS)
        window: deque[tuple[Part, Future[Result]]] = deque()
        pos = -1  # where the next block's first row starts (-1: not known yet)

        def take() -> Iterator[Converted]:
            nonlocal base, pos
            part, pending = window.popleft()
            data, texts, block = pending.result()
            if isinstance(part, Block):
                assert block is not None
                if pos not in (-1, part.start):
                    if pos >= part.end:  # wholly read by the block before
                        return iter(())
                    data, texts, block = pool.submit(_convert_part, blob, name, Block(pos, part.end, part.header)).result()
                    assert block is not None
            head, found = _payload(data)
            self._invalid.update(found)
            if block is None:
                assert not isinstance(part, Block)
                return _rows(head, texts, 0, part)
            first, base = base, base + block.lines
            pos = block.end + block.overrun
            self._firsts.append(first)
            self._blocks.append(Block(block.start, block.end, block.header))
            return _rows(head, texts, first, None)

        for part in parts_iter:
            window.append((part, pool.submit(_convert_part, blob, name, part)))
            if len(window) >= self._limit:
                yield from take()
        while window:
            yield from take()

    def raw(self, line: int) -> str:
        """The raw text of the row at `line` of a block already yielded, read again from the
        file by the same reader the worker used, so it is the text the worker saw."""
        i = bisect.bisect_left(self._firsts, line) - 1  # the last block starting before `line`
        if i < 0:
            raise KeyError(line)
        if self._reread[0] != i:
            first, block = self._firsts[i], self._blocks[i]
            self._reread = (i, {row.line + first: row.raw for row in read_block(self.path, self.mapping, block)})
        return self._reread[1][line]
