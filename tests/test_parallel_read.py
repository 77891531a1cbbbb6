"""Worker processes reading their own blocks of a file see exactly what one reader sees.

Files with quoted fields spanning lines (across block boundaries, or past several
blocks), CR / CRLF / LF line ends, blank lines, a byte-order mark, malformed rows and
non-ASCII text are converted through `parallel.Workers` with blocks of a few dozen
bytes, and every row's (line, raw text, record or quarantine reason) must equal the
single-process conversion of the same file.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loaders import parallel
from loaders.convert import Converter, convert_rows
from loaders.mapping import parse_mapping
from loaders.readers import read_rows

CSV_MAPPING = parse_mapping(
    {
        "name": "people",
        "format": "csv",
        "id_column": "id",
        "attributes": {"full_name": "name", "city": "city"},
        "identifiers": [{"column": "email", "kind": "email", "name": "email"}],
    },
    "people.yaml",
)
JSONL_MAPPING = parse_mapping(
    {
        "name": "events",
        "format": "jsonl",
        "id_column": "id",
        "attributes": {"first_name": "traits.name"},
        "identifiers": [{"column": "user", "kind": "user_id"}],
    },
    "events.yaml",
)


@pytest.fixture(scope="module")
def workers() -> Iterator[parallel.Workers]:
    with parallel.Workers(2) as pool:
        yield pool


def _compare(workers: parallel.Workers, path: Path, mapping: object, block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "BLOCK_BYTES", block)
    serial_conv = Converter(mapping)  # type: ignore[arg-type]
    expected = list(convert_rows(serial_conv, read_rows(path, mapping)))  # type: ignore[arg-type]
    invalid: Counter[str] = Counter()
    conversion = workers.convert(path, mapping, invalid)  # type: ignore[arg-type]
    got = list(conversion)
    # a record read from a block comes without its raw text; conversion.raw reads it again
    assert all(raw is not None for _line, raw, result in got if isinstance(result, str))
    assert all(raw is None for _line, raw, result in got if not isinstance(result, str))
    got = [(line, raw if raw is not None else conversion.raw(line), result) for line, raw, result in got]
    # records come back from workers as JSON: lists where the serial conversion has tuples
    assert orjson.loads(orjson.dumps(got)) == orjson.loads(orjson.dumps(expected))
    assert invalid == serial_conv.invalid


_TEXT = st.text(alphabet=st.sampled_from(list('ab é,"\n\r;x') + ["\u2028", "日"]), max_size=12)
_EOL = st.sampled_from(["\n", "\r\n", "\r"])


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@st.composite
def csv_files(draw: st.DrawFn) -> str:
    eol = draw(_EOL)
    lines = ["id,name,city,email"]
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["plain", "quoted", "quoted", "blank", "short", "junk"]))
        if kind == "plain":
            lines.append(f"{i},name {i},city,p{i}@example.com")
        elif kind == "quoted":
            lines.append(f"{i},{_quoted(draw(_TEXT))},{_quoted(draw(_TEXT))},q{i}@example.com")
        elif kind == "blank":
            lines.append("")
        elif kind == "short":
            lines.append(f"{i},only two")
        else:
            lines.append(draw(_TEXT))
    text = eol.join(lines) + draw(st.sampled_from(["", eol]))
    return ("\ufeff" if draw(st.booleans()) else "") + text


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=csv_files(), block=st.integers(1, 80))
def test_csv_blocks_read_like_one_reader(
    workers: parallel.Workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, block: int
) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(text.encode("utf-8"))
    _compare(workers, path, CSV_MAPPING, block, monkeypatch)


def test_unterminated_quote_swallows_later_blocks(
    workers: parallel.Workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [f"{i},n{i},c,e{i}@example.com" for i in range(40)]
    rows[5] = '5,"never closed,c,e5@example.com'
    path = tmp_path / "people.csv"
    path.write_text("id,name,city,email\n" + "\n".join(rows) + "\n", encoding="utf-8")
    _compare(workers, path, CSV_MAPPING, 30, monkeypatch)


@st.composite
def jsonl_files(draw: st.DrawFn) -> str:
    eol = draw(_EOL)
    lines = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(st.sampled_from(["good", "good", "blank", "array", "junk"]))
        if kind == "good":
            name = draw(_TEXT).replace("\\", "").replace('"', "").replace("\n", " ").replace("\r", " ")
            lines.append(f'{{"id": "r{i}", "user": "u{i % 3}", "traits": {{"name": "{name}"}}}}')
        elif kind == "blank":
            lines.append("  ")
        elif kind == "array":
            lines.append("[1, 2]")
        else:
            lines.append("{not json")
    return ("\ufeff" if draw(st.booleans()) else "") + eol.join(lines) + draw(st.sampled_from(["", eol]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=jsonl_files(), block=st.integers(1, 80))
def test_jsonl_blocks_read_like_one_reader(
    workers: parallel.Workers, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, block: int
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(text.encode("utf-8"))
    _compare(workers, path, JSONL_MAPPING, block, monkeypatch)


def test_a_worker_that_dies_mid_file_fails_the_conversion_with_the_file_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed mid-load (the kernel's OOM killer, an operator) must stop the load with
    an error naming the file, not leave it waiting for an answer that never comes (what
    multiprocessing.Pool did: it replaced the process and dropped its task)."""
    monkeypatch.setattr(parallel, "BLOCK_BYTES", 64)  # about a row per task: thousands of tasks
    path = tmp_path / "people.csv"
    path.write_text("id,name,city,email\n" + "".join(f"{i},name {i},city,p{i}@example.com\n" for i in range(3000)))
    with parallel.Workers(2) as pool:
        rows = iter(pool.convert(path, CSV_MAPPING, Counter()))
        next(rows)
        os.kill(pool._started().submit(os.getpid).result(), signal.SIGKILL)
        with pytest.raises(parallel.WorkerDied, match=r"people\.csv: a conversion worker process died"):
            list(rows)


def test_every_worker_is_forked_when_the_pool_starts() -> None:
    """The loader starts its writer thread after the pool: a process forked later, on demand
    (Python 3.11 forks one per task while none is idle), would be forked from a process with
    threads holding locks. So all of them exist once the pool has started."""
    before = set(multiprocessing.active_children())
    with parallel.Workers(3) as pool:
        pool._started()
        assert len(set(multiprocessing.active_children()) - before) == 3
