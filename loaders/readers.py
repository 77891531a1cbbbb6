"""Readers: a source file in, raw rows out, each with its line number and exact text.

Two kinds of trouble are kept apart:
- a malformed *file* (bytes that are not in the mapping's encoding, no ID column, the
  wrong delimiter, not JSON lines at all) is found by `check_file` before anything is
  written, and raised as one `FileFormatError` line naming file, line and column;
- a malformed *row* (wrong number of fields, a line that is not JSON) is yielded as a
  `RawRow` with an `error`, and the loader quarantines it with its raw text.

Blank lines are not rows (they are skipped and not counted).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from graphstore import jsontext

from .mapping import SourceMapping

MAX_RAW = 20_000  # raw text kept per quarantined row
csv.field_size_limit(min(sys.maxsize, 2**31 - 1) // 64)  # 32 MiB: an unterminated quote is still one row


class FileFormatError(ValueError):
    """A file that cannot be loaded at all; the message is one line: file, line, column, why."""


@dataclass(slots=True)
class RawRow:
    line: int
    raw: str
    values: dict[str, Any] | None
    error: str | None = None


@dataclass(slots=True)
class FileCheck:
    lines: int  # physical lines (progress total; a quoted field can span lines)
    size: int


def _encoding(mapping: SourceMapping) -> str:
    # a UTF-8 file may start with a byte-order mark (Excel writes one); read it away
    return "utf-8-sig" if codecs.lookup(mapping.encoding).name == "utf-8" else mapping.encoding


def check_file(path: str | Path, mapping: SourceMapping) -> FileCheck:
    """Everything that makes a whole file unloadable, found before a single write."""
    p = Path(path)
    if not p.is_file():
        raise FileFormatError(f"{p}: no such file")
    if mapping.format == "parquet":
        return _check_parquet(p, mapping)
    size = p.stat().st_size
    decoder = codecs.getincrementaldecoder(_encoding(mapping))("strict")
    lines = 0
    offset = 0
    last = b""
    try:
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    _raise_decode(p, mapping, fh, offset + exc.start, exc)
                lines += chunk.count(b"\n")
                offset += len(chunk)
                last = chunk[-1:]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:  # truncated multi-byte sequence at the very end
        with p.open("rb") as fh:
            _raise_decode(p, mapping, fh, size - len(exc.object) + exc.start, exc)
    except OSError as exc:
        raise FileFormatError(f"{p}: cannot read ({exc.strerror})") from None
    if size and last != b"\n":
        lines += 1
    if mapping.format == "csv":
        _check_csv_header(p, mapping)
    else:
        _check_jsonl_start(p, mapping)
    return FileCheck(lines=lines, size=size)


def _raise_decode(p: Path, mapping: SourceMapping, fh: Any, pos: int, exc: UnicodeDecodeError) -> None:
    fh.seek(0)
    head = fh.read(pos)
    line = head.count(b"\n") + 1
    column = pos - (head.rfind(b"\n") + 1) + 1
    bad = exc.object[exc.start : exc.end].hex(" ")
    raise FileFormatError(
        f"{p}: line {line}, column {column}: bytes {bad} are not valid {mapping.encoding} ({exc.reason});"
        " nothing was loaded from this file"
    )


_OTHER_DELIMITERS = (",", ";", "\t", "|")


def _check_csv_header(p: Path, mapping: SourceMapping) -> None:
    with p.open(encoding=_encoding(mapping), newline="") as fh:
        try:
            header = next(csv.reader(fh, delimiter=mapping.delimiter), None)
        except csv.Error as exc:
            raise FileFormatError(f"{p}: line 1: header is not valid CSV ({exc})") from None
    if not header:
        raise FileFormatError(f"{p}: line 1: empty file, expected a header with column {mapping.id_column!r}")
    if mapping.id_column not in header:
        if len(header) == 1:
            for other in _OTHER_DELIMITERS:
                if other != mapping.delimiter and other in header[0]:
                    raise FileFormatError(
                        f"{p}: line 1: the header has no {mapping.delimiter!r} delimiter but looks {other!r}-delimited;"
                        f" mapping {mapping.name!r} expects delimiter {mapping.delimiter!r}"
                    )
        raise FileFormatError(
            f"{p}: line 1, column {mapping.id_column!r}: the id column is not in the header"
            f" (found: {', '.join(header[:12])}{'…' if len(header) > 12 else ''})"
        )
    missing = [c for c in mapping.columns() if c not in header]
    if missing:
        raise FileFormatError(
            f"{p}: line 1, column {missing[0]!r}: mapped column not in the header"
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else "")
        )
    dupes = sorted({c for c in header if header.count(c) > 1 and c in mapping.columns()})
    if dupes:
        raise FileFormatError(f"{p}: line 1, column {dupes[0]!r}: mapped column appears more than once in the header")


def _check_jsonl_start(p: Path, mapping: SourceMapping) -> None:
    with p.open(encoding=_encoding(mapping)) as fh:
        for number, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                raise FileFormatError(
                    f"{p}: line {number}, column {exc.colno}: not JSON ({exc.msg}); mapping {mapping.name!r}"
                    " expects JSON lines, one object per line"
                ) from None
            if not isinstance(obj, dict):
                raise FileFormatError(f"{p}: line {number}: expected a JSON object per line, got {type(obj).__name__}")
            if dig(obj, mapping.id_column) is _MISSING:
                raise FileFormatError(f"{p}: line {number}, field {mapping.id_column!r}: the id field is not in the first object")
            return
    raise FileFormatError(f"{p}: line 1: empty file, expected JSON lines with field {mapping.id_column!r}")


_MISSING: Any = object()


def dig(obj: dict[str, Any], path: str) -> Any:
    """A (possibly dotted) key of a JSON object; `_MISSING` when absent."""
    if path in obj:
        return obj[path]
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return _MISSING
        cur = cur[part]
    return cur


class _Lines:
    """Feeds csv.reader while remembering the exact text of the row being parsed.

    Reading a block of a file (see `Block`), `tail` opens the text after the block: a
    row that starts inside the block but whose quoted field runs past its end is read
    on from there, and then the block's rows end. `overrun` counts the bytes so read.
    """

    __slots__ = ("fh", "buf", "count", "tail", "encoding", "overrun", "past_end")

    def __init__(self, fh: Any, tail: Callable[[], Iterator[str]] | None = None, encoding: str = "") -> None:
        self.fh = fh
        self.buf: list[str] = []
        self.count = 0
        self.tail = tail
        self.encoding = encoding
        self.overrun = 0
        self.past_end = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.past_end and not self.buf:
            raise StopIteration  # the row that crossed the block's end was the block's last
        try:
            text = next(self.fh)
        except StopIteration:
            if self.tail is None or not self.buf:
                raise
            self.fh, self.tail, self.past_end = self.tail(), None, True
            text = next(self.fh)
        if self.past_end:
            self.overrun += len(text.encode(self.encoding))
        self.buf.append(text)
        self.count += 1
        return text

    def take(self) -> str:
        raw = "".join(self.buf)
        self.buf.clear()
        return raw[:MAX_RAW]


def read_rows(path: str | Path, mapping: SourceMapping) -> Iterator[RawRow]:
    """Rows of a checked file (see `check_file`), with line numbers counted from 1 = header."""
    if mapping.format == "csv":
        yield from _csv_rows(Path(path), mapping)
    elif mapping.format == "jsonl":
        yield from _jsonl_rows(Path(path), mapping)
    else:
        yield from _parquet_rows(Path(path), mapping)


def _csv_rows(p: Path, mapping: SourceMapping) -> Iterator[RawRow]:
    with p.open(encoding=_encoding(mapping), newline="") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=mapping.delimiter)
        header = next(reader)
        lines.take()
        yield from _csv_body(lines, reader, header, mapping)


def _csv_body(lines: _Lines, reader: Any, header: list[str], mapping: SourceMapping) -> Iterator[RawRow]:
    """The rows after the header; line numbers go on from `lines.count`."""
    width = len(header)
    index = [(c, header.index(c)) for c in mapping.columns()]
    while True:
        start = lines.count + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RawRow(start, lines.take(), None, f"unparsable CSV line: {exc}")
            continue
        raw = lines.take()
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) != width:
            yield RawRow(start, raw, None, f"unparsable line: expected {width} fields, found {len(fields)}")
            continue
        yield RawRow(start, raw, {c: fields[i] for c, i in index})


def _loads(text: str) -> Any:
    """jsontext.loads (orjson, about 3x the stdlib's speed, and the stdlib where orjson would
    turn a long integer ID into a float); the stdlib decides what orjson refuses but JSON
    allows in practice (NaN, Infinity), and words the error for a line that is not JSON."""
    try:
        return jsontext.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _jsonl_rows(p: Path, mapping: SourceMapping) -> Iterator[RawRow]:
    with p.open(encoding=_encoding(mapping)) as fh:
        yield from _jsonl_body(fh, mapping)


def _jsonl_body(fh: Any, mapping: SourceMapping) -> Generator[RawRow, None, int]:
    """The rows of JSON lines text; returns the number of lines read."""
    cols = mapping.columns()
    number = 0
    for number, text in enumerate(fh, start=1):
        if not text.strip():
            continue
        raw = text[:MAX_RAW]
        try:
            obj = _loads(text)
        except json.JSONDecodeError as exc:
            yield RawRow(number, raw, None, f"unparsable line: not JSON ({exc.msg}, column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            yield RawRow(number, raw, None, f"unparsable line: expected a JSON object, got {type(obj).__name__}")
            continue
        values = {}
        for c in cols:
            v = obj.get(c, _MISSING) if "." not in c else dig(obj, c)
            if v is not _MISSING and v is not None:
                values[c] = v
        yield RawRow(number, raw, values)
    return number


# -- blocks: byte ranges of one file, read by worker processes ---------------------------
# A worker reads its own part of a large file, so the loading process neither parses
# every row nor sends it through a pipe. Blocks end just after a newline byte; in the
# encodings below that byte is always a line end, never part of another character.

_SPLITTABLE = ("utf-8", "ascii")
_SPLITTABLE_PREFIXES = ("iso8859-", "cp125", "latin")


@dataclass(slots=True)
class Block:
    """Bytes [start, end) of a file's body. `header` (CSV): the column names. Reading
    the block sets `lines` (physical lines read) and `overrun` (bytes read past `end`
    to finish a row whose quoted field spans the boundary)."""

    start: int
    end: int
    header: list[str] | None = None
    lines: int = 0
    overrun: int = 0


def splittable(mapping: SourceMapping) -> bool:
    """Whether the file can be read in blocks (CSV or JSON lines in an ASCII-compatible,
    stateless encoding); otherwise the loading process reads it whole."""
    if mapping.format not in ("csv", "jsonl"):
        return False
    name = codecs.lookup(mapping.encoding).name
    return name in _SPLITTABLE or name.startswith(_SPLITTABLE_PREFIXES)


def plan_blocks(path: str | Path, mapping: SourceMapping, size: int) -> tuple[int, Iterator[Block]]:
    """(lines before the first block, the blocks of about `size` bytes covering the body).
    For CSV the header is read here, once, and handed to every block."""
    p = Path(path)
    header: list[str] | None = None
    head_lines = 0
    start = 0
    if mapping.format == "csv":
        with p.open(encoding=_encoding(mapping), newline="") as fh:
            lines = _Lines(fh)
            header = next(csv.reader(lines, delimiter=mapping.delimiter))
            head_lines = lines.count
            start = len("".join(lines.buf).encode(mapping.encoding))
        with p.open("rb") as fh:
            if _encoding(mapping) == "utf-8-sig" and fh.read(3) == codecs.BOM_UTF8:
                start += 3

    def blocks(pos: int) -> Iterator[Block]:
        total = p.stat().st_size
        with p.open("rb") as fh:
            while pos < total:
                fh.seek(pos + size)
                fh.readline()
                end = min(fh.tell(), total)
                yield Block(pos, end, header)
                pos = end

    return head_lines, blocks(start)


def read_block(path: str | Path, mapping: SourceMapping, block: Block) -> Iterator[RawRow]:
    """The rows that start inside `block`, numbered from 1 at its first line (the caller
    adds the lines before it). Sets `block.lines` and `block.overrun` when exhausted."""
    encoding = _encoding(mapping) if block.start == 0 else mapping.encoding
    with open(path, "rb") as raw:
        raw.seek(block.start)
        data = raw.read(block.end - block.start)
    newline = "" if mapping.format == "csv" else None
    fh = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=newline)
    if mapping.format == "jsonl":
        block.lines = yield from _jsonl_body(fh, mapping)
        return
    assert block.header is not None

    with contextlib.ExitStack() as opened:

        def tail() -> Iterator[str]:
            rest = opened.enter_context(open(path, "rb"))
            rest.seek(block.end)
            return io.TextIOWrapper(rest, encoding=mapping.encoding, newline="")

        lines = _Lines(fh, tail, mapping.encoding)
        yield from _csv_body(lines, csv.reader(lines, delimiter=mapping.delimiter), block.header, mapping)
        block.lines, block.overrun = lines.count, lines.overrun


# -- parquet (optional: needs pyarrow) -------------------------------------------------


def _pyarrow() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise FileFormatError("parquet files need pyarrow: pip install pyarrow") from None
    return pq


def _check_parquet(p: Path, mapping: SourceMapping) -> FileCheck:
    pq = _pyarrow()
    try:
        meta = pq.ParquetFile(p)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise FileFormatError(f"{p}: not a readable parquet file ({exc})") from None
    names = meta.schema_arrow.names
    top = {c.split(".")[0] for c in mapping.columns()}
    missing = [c for c in mapping.columns() if c.split(".")[0] not in names]
    if missing or not top:
        raise FileFormatError(f"{p}: column {missing[0]!r}: mapped column not in the parquet schema")
    return FileCheck(lines=meta.metadata.num_rows + 1, size=p.stat().st_size)


def _parquet_rows(p: Path, mapping: SourceMapping) -> Iterator[RawRow]:
    pq = _pyarrow()
    cols = mapping.columns()
    f = pq.ParquetFile(p)
    number = 1  # the "header" is line 1 so data rows number like CSV
    for batch in f.iter_batches(batch_size=10_000, columns=sorted({c.split(".")[0] for c in cols})):
        for obj in batch.to_pylist():
            number += 1
            values = {}
            for c in cols:
                v = dig(obj, c)
                if v is not _MISSING and v is not None:
                    values[c] = v
            yield RawRow(number, json.dumps(obj, default=str, ensure_ascii=False)[:MAX_RAW], values)
