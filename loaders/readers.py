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
import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

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
    """Feeds csv.reader while remembering the exact text of the row being parsed."""

    __slots__ = ("fh", "buf", "count")

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.buf: list[str] = []
        self.count = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        text = next(self.fh)
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
    cols = mapping.columns()
    with p.open(encoding=_encoding(mapping), newline="") as fh:
        lines = _Lines(fh)
        reader = csv.reader(lines, delimiter=mapping.delimiter)
        header = next(reader)
        lines.take()
        width = len(header)
        index = [(c, header.index(c)) for c in cols]
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
    """orjson (about 3x the stdlib's speed) for the common line; the stdlib decides what
    orjson refuses but JSON allows in practice (integers beyond 64 bits, NaN), and
    words the error for a line that is not JSON."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _jsonl_rows(p: Path, mapping: SourceMapping) -> Iterator[RawRow]:
    cols = mapping.columns()
    with p.open(encoding=_encoding(mapping)) as fh:
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
