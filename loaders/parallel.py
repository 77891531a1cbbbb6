"""Conversion in worker processes, results back in file order.

Normalizing is pure CPU work (phonenumbers, email-validator, hashing), so large files
are converted by worker processes while the loading process writes the store. Each
worker reads its own block of the file (`readers.Block`), so the loading process
neither parses every row nor pickles it to a worker; it receives each row's line, raw
text and compact record (or quarantine reason). Files that cannot be split (parquet,
encodings where a newline byte may be part of another character) are read by the
loading process and sent in chunks of rows instead; the conversion is the same.

The processes are started on first use and serve every file of one load, so phone
metadata and the normalization caches stay warm from one file to the next.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
from collections import Counter, deque
from collections.abc import Iterable, Iterator
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
Result = tuple[bytes, Block | None]  # the converted rows and the invalid-value counts as JSON; the block read

# -- in the worker ------------------------------------------------------------------------

_converters: dict[bytes, Converter] = {}  # pickled mapping -> its converter, kept across tasks and files


def _init_worker() -> None:
    gc.disable()  # a worker only converts rows, which make no reference cycles (see gc_pause)


def _convert_part(mapping: bytes, path: str, part: Part) -> Result:
    """One block (read here) or chunk of rows, converted; with the block's line and overrun counts.

    The rows go back as JSON text (every value in them is a string, a list or a dict of
    strings, or an int): orjson writes it in a fifth of the time pickle takes for the
    same rows, which was an eighth of a worker's time. Pickle remains for what orjson
    refuses (a lone surrogate from a JSON escape).
    """
    conv = _converters.get(mapping)
    if conv is None:
        conv = _converters[mapping] = Converter(pickle.loads(mapping))
    conv.invalid.clear()
    rows = read_block(path, conv.mapping, part) if isinstance(part, Block) else part
    payload = [list(convert_rows(conv, rows)), conv.invalid]
    try:
        data = orjson.dumps(payload)
    except orjson.JSONEncodeError:
        data = pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)
    return data, part if isinstance(part, Block) else None


def _payload(data: bytes) -> Any:
    return pickle.loads(data) if data[:1] == b"\x80" else orjson.loads(data)


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
        self._pool: Any = None

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
            self._pool.terminate()
            self._pool.join()
            self._pool = None

    def _started(self) -> Any:
        if self._pool is None:
            method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self._pool = multiprocessing.get_context(method).Pool(self.processes, initializer=_init_worker)
        return self._pool

    def convert(self, path: Path, mapping: SourceMapping, invalid: Counter[str]) -> Iterator[Converted]:
        """Every row of a checked file as (line, raw text, compact record or quarantine
        reason), in file order; values the converter could not use are added to `invalid`.

        At most `_IN_FLIGHT` tasks per worker are out at once, which bounds memory (reading
        ahead without a bound held the whole file at 1M records). A block whose last row
        ran past its end (a quoted field with line breaks across the boundary) was read on
        to the end of that row, so the next block, read from its nominal start, is read
        again from where that row ended.
        """
        pool = self._started()
        blob = pickle.dumps(mapping)
        name = str(path)
        if splittable(mapping):
            base, parts = plan_blocks(path, mapping, BLOCK_BYTES)
            parts_iter: Iterator[Part] = parts
        else:
            base, parts_iter = 0, _batched(read_rows(path, mapping), CHUNK_ROWS)
        window: deque[tuple[Part, Any]] = deque()
        limit = _IN_FLIGHT * self.processes
        pos = -1  # where the next block's first row starts (-1: not known yet)

        def take() -> Iterator[Converted]:
            nonlocal base, pos
            part, pending = window.popleft()
            data, block = pending.get()
            if isinstance(part, Block):
                assert block is not None
                if pos not in (-1, part.start):
                    if pos >= part.end:  # wholly read by the block before
                        return iter(())
                    data, block = pool.apply(_convert_part, (blob, name, Block(pos, part.end, part.header)))
                    assert block is not None
            out, found = _payload(data)
            invalid.update(found)
            if block is not None:
                first, base = base, base + block.lines
                pos = block.end + block.overrun
                return ((line + first, raw, result) for line, raw, result in out)
            return iter(out)

        for part in parts_iter:
            window.append((part, pool.apply_async(_convert_part, (blob, name, part))))
            if len(window) >= limit:
                yield from take()
        while window:
            yield from take()
