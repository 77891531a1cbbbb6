"""Loading files into the store, on both backends: records and shared identifiers,
every quarantine reason, whole-file rejections that store nothing, idempotent reruns,
updates in place with history, and crash-then-rerun reaching the same final state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from hashlib import blake2b
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphstore import jsontext
from graphstore.model import content_hash, identifier_key
from graphstore.store import GraphStore
from loaders.generate import Noise, generate
from loaders.load import LoadSummary, load_file, load_folder
from loaders.mapping import parse_mapping
from loaders.readers import FileFormatError, read_rows

from conftest import make_store, neo4j_uri

ROOT = Path(__file__).resolve().parent.parent
NOISY = Noise(bad_row_rate=0.02)  # enough rows to quarantine in a small sample

SHOP = parse_mapping(
    {
        "name": "shop",
        "format": "csv",
        "id_column": "id",
        "updated_at": "updated",
        "attributes": {
            "full_name": "name",
            "company": "company",
            "tickets": {"column": "tickets", "type": "int"},
            "updated": {"column": "updated", "type": "datetime"},
        },
        "identifiers": [
            {"column": "email", "kind": "email", "name": "email", "required": True},
            {"column": "phone", "kind": "phone", "name": "phone"},
            {"column": "device", "kind": "device_id", "name": "device"},
        ],
    },
    "shop.yaml",
)
HEADER = "id,name,company,tickets,updated,email,phone,device\n"
GOOD = [
    "1,Jane Doe,Acme Inc.,3,2024-01-02T03:04:05Z,Jane.Doe@Acme.com,(415) 555-0123,dev-1\n",
    "2,John Roe,Acme Inc.,0,2024-01-03T00:00:00Z,john@acme.com,,dev-1\n",
    "3,Ann Poe,,,2024-01-04T00:00:00Z,ann@gmail.com,not a phone,unknown\n",
]

EVENTS = parse_mapping(
    {
        "name": "events",
        "format": "jsonl",
        "id_column": "messageId",
        "attributes": {"first_name": "traits.first_name"},
        "identifiers": [{"column": "userId", "kind": "user_id"}, {"column": "traits.email", "kind": "email"}],
    },
    "events.yaml",
)


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def fresh(store_kind: str, folder: Path) -> GraphStore:
    """An empty store of the given kind (a new SQLite file in `folder`, or the wiped Neo4j)."""
    folder.mkdir(parents=True, exist_ok=True)
    return make_store(store_kind, folder)


def snapshot(store: GraphStore) -> dict[str, Any]:
    """What a load leaves behind, without load-time metadata (batch ids, timestamps)."""
    records = {}
    ident_keys: set[str] = set()
    for r in store.iter_records():
        idents = sorted((i.kind, i.value, i.field) for i in r.identifiers)
        ident_keys.update(identifier_key(k, v) for k, v, _ in idents)
        records[r.key] = (r.attrs, r.norm, idents, r.updated_at, r.content_hash, [h["content_hash"] for h in r.history])
    degrees = {k: i.degree for k, i in store.get_identifiers(ident_keys).items()}
    quarantine = sorted((q.source, q.file, q.line, q.raw, q.reason) for q in store.quarantined())
    counts = {k: v for k, v in store.counts().items()}
    return {"records": records, "identifiers": degrees, "quarantine": quarantine, "counts": counts}


def totals(summaries: dict[str, LoadSummary] | list[LoadSummary]) -> dict[str, int]:
    items = summaries.values() if isinstance(summaries, dict) else summaries
    return {k: sum(getattr(s, k) for s in items) for k in ("read", "inserted", "updated", "unchanged", "quarantined")}


# -- records and identifiers ---------------------------------------------------------


def test_load_writes_records_with_originals_and_shared_identifiers(store: GraphStore, tmp_path: Path) -> None:
    f = write(tmp_path / "shop.csv", HEADER + "".join(GOOD))
    s = load_file(store, SHOP, f)
    assert (s.read, s.inserted, s.updated, s.unchanged, s.quarantined) == (3, 3, 0, 0, 0)
    assert s.balanced
    assert s.invalid_values == {"phone": 1}  # ann's phone is not evidence, but the row loads

    recs = store.get_records(["shop:1", "shop:2", "shop:3"])
    jane = recs["shop:1"]
    assert jane.attrs["full_name"] == "Jane Doe" and jane.attrs["email"] == "Jane.Doe@Acme.com"  # originals kept
    assert jane.attrs["tickets"] == "3"
    assert jane.norm["full_name"] == "jane doe" and jane.norm["company"] == "acme"
    assert jane.updated_at == "2024-01-02T03:04:05+00:00"
    assert jane.batch_id == s.batch_id and jane.loaded_at and jane.content_hash
    assert {(i.kind, i.value) for i in jane.identifiers} == {
        ("email", "jane.doe@acme.com"), ("domain", "acme.com"), ("phone", "+14155550123"), ("device_id", "dev-1"),
    }
    ann = recs["shop:3"]
    assert {(i.kind, i.value) for i in ann.identifiers} == {("email", "ann@gmail.com")}  # no consumer domain, junk device
    assert ann.attrs["phone"] == "not a phone"

    idents = store.get_identifiers(["device_id:dev-1", "domain:acme.com", "email:ann@gmail.com", "domain:gmail.com"])
    assert idents["device_id:dev-1"].degree == 2  # one shared node for two records
    assert idents["domain:acme.com"].degree == 2
    assert "domain:gmail.com" not in idents
    assert store.source_counts() == {"shop": 3}


def test_load_reports_progress_and_saves_a_run(store: GraphStore, tmp_path: Path) -> None:
    f = write(tmp_path / "shop.csv", HEADER + "".join(GOOD))
    seen: list[tuple[int, int]] = []
    s = load_file(store, SHOP, f, batch_size=1, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (3, 3) and [d for d, _ in seen[:3]] == [1, 2, 3]
    runs = store.runs(kind="load")
    assert runs[0].id == s.batch_id and runs[0].stats["status"] == "done" and runs[0].stats["inserted"] == 3


def test_a_folder_shares_one_writer_and_completes_each_file(store: GraphStore, tmp_path: Path) -> None:
    """A folder's files share one writer (the next file is converted while the one before is
    written): each file still gets a complete summary, a finished run row and a last
    progress report of all its rows, and every batch of every file is written."""
    g = generate(tmp_path, records=5000, seed=3, noise=NOISY)  # files over 64 KiB: the writer thread, not inline
    progress: dict[str, list[tuple[int, int]]] = {}
    summaries = load_folder(store, tmp_path, batch_size=97, workers=0,
                            progress=lambda source, done, total: progress.setdefault(source, []).append((done, total)))
    assert set(summaries) == set(g.counts)
    runs = {r.stats["source"]: r for r in store.runs(kind="load", limit=20)}
    counts = store.source_counts()
    for source, s in summaries.items():
        assert s.read == g.counts[source] and s.balanced and s.inserted == counts[source] and s.elapsed > 0
        assert progress[source][-1] == (s.read, s.read)
        run = runs[source]
        assert run.id == s.batch_id and run.finished_at and run.stats["status"] == "done"
        assert (run.stats["inserted"], run.stats["quarantined"]) == (s.inserted, s.quarantined)


# -- quarantine ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (",Nobody,,1,2024-01-01T00:00:00Z,no@acme.com,,\n", "missing id: column 'id' is empty"),
        ("9,Bad Mail,,1,2024-01-01T00:00:00Z,not-an-email,,\n",
         "malformed email: column 'email' has no usable value in 'not-an-email'"),
        ("9,No Mail,,1,2024-01-01T00:00:00Z,,,\n", "missing required value: column 'email' (email) is empty"),
        ("9,Typed,,many,2024-01-01T00:00:00Z,t@acme.com,,\n", "wrong type: column 'tickets' expected int, got 'many'"),
        ("9,Late,,1,last tuesday,t@acme.com,,\n", "wrong type: column 'updated' expected datetime, got 'last tuesday'"),
        ("9,Short,row\n", "unparsable line: expected 8 fields, found 3"),
    ],
)
def test_each_quarantine_reason(store: GraphStore, tmp_path: Path, row: str, reason: str) -> None:
    f = write(tmp_path / "shop.csv", HEADER + GOOD[0] + row + GOOD[1])
    s = load_file(store, SHOP, f)
    assert (s.read, s.inserted, s.quarantined) == (3, 2, 1)
    assert s.balanced
    assert s.reasons == {reason.split(":")[0]: 1}
    [q] = store.quarantined(source="shop")
    assert (q.source, q.file, q.line, q.raw, q.reason) == ("shop", str(f.resolve()), 3, row, reason)
    assert q.batch_id == s.batch_id
    assert store.source_counts() == {"shop": 2}


def test_duplicate_id_with_different_content_is_quarantined(store: GraphStore, tmp_path: Path) -> None:
    changed = GOOD[0].replace("Acme Inc.", "Other Corp")
    f = write(tmp_path / "shop.csv", HEADER + GOOD[0] + GOOD[1] + changed + GOOD[0])
    s = load_file(store, SHOP, f)
    # the first row with an id wins; an identical repeat is unchanged, a different one quarantined
    assert (s.read, s.inserted, s.unchanged, s.quarantined) == (4, 2, 1, 1)
    [q] = store.quarantined()
    assert q.line == 4 and q.raw == changed
    assert q.reason == "duplicate id: '1' already read at line 2 with different content"
    assert store.get_record("shop:1").attrs["company"] == "Acme Inc."


def test_jsonl_unparsable_line_and_missing_id(store: GraphStore, tmp_path: Path) -> None:
    lines = [
        json.dumps({"messageId": "m1", "userId": "u1", "traits": {"first_name": "Jane", "email": "j@acme.com"}}),
        '{"messageId": "m2", "userId": "u2", "traits": {"first_',
        "",
        json.dumps({"messageId": None, "userId": "u3"}),
        "[1, 2]",
        json.dumps({"messageId": 4, "userId": "u1"}),
    ]
    f = write(tmp_path / "events.jsonl", "\n".join(lines) + "\n")
    s = load_file(store, EVENTS, f)
    assert (s.read, s.inserted, s.quarantined) == (5, 2, 3)  # the blank line is not a row
    assert s.balanced
    got = {q.line: q.reason for q in store.quarantined()}
    assert got[2].startswith("unparsable line: not JSON")
    assert got[4] == "missing id: column 'messageId' is empty"
    assert got[5] == "unparsable line: expected a JSON object, got list"
    assert store.get_record("events:m1").norm["first_name"] == "jane"
    assert store.get_identifiers(["user_id:u1"])["user_id:u1"].degree == 2  # m1 and 4 (a number id)


def test_jsonl_integers_beyond_64_bits_stay_exact(store: GraphStore, tmp_path: Path) -> None:
    """Two 23-digit numeric user IDs one apart are two identifiers, not one float."""
    ids = [12345678901234567890123, 12345678901234567890124]
    lines = [json.dumps({"messageId": n, "userId": uid}) for n, uid in enumerate(ids, start=1)]
    s = load_file(store, EVENTS, write(tmp_path / "events.jsonl", "\n".join(lines) + "\n"))
    assert (s.inserted, s.quarantined) == (2, 0)
    got = store.get_identifiers([f"user_id:{uid}" for uid in ids])
    assert {k: i.degree for k, i in got.items()} == {f"user_id:{uid}": 1 for uid in ids}
    assert store.get_record("events:2").attrs["userid"] == str(ids[1])


# -- malformed files: one line, nothing stored --------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((HEADER + GOOD[0]).encode() + b"2,J\xe9r\xf4me,,,,j@acme.com,,\n",
         r"shop.csv: line 3, column 4: bytes e9 are not valid utf-8 .*nothing was loaded"),
        ("ident,name,company,tickets,updated,email,phone,device\n" + GOOD[0],
         r"shop.csv: line 1, column 'id': the id column is not in the header"),
        (HEADER.replace(",", ";") + GOOD[0].replace(",", ";"),
         r"shop.csv: line 1: the header has no ',' delimiter but looks ';'-delimited"),
        ("id,name\n1,x\n", r"shop.csv: line 1, column 'company': mapped column not in the header"),
        ("", r"shop.csv: line 1: empty file"),
    ],
    ids=["undecodable", "no-id-column", "wrong-delimiter", "missing-column", "empty"],
)
def test_malformed_file_fails_fast_and_stores_nothing(
    store: GraphStore, tmp_path: Path, content: str | bytes, message: str
) -> None:
    f = write(tmp_path / "shop.csv", content)
    with pytest.raises(FileFormatError, match=message) as err:
        load_file(store, SHOP, f)
    assert "\n" not in str(err.value)
    assert store.source_counts() == {}
    assert store.quarantined() == []
    assert store.runs(kind="load") == []


def test_jsonl_file_that_is_not_json_lines(store: GraphStore, tmp_path: Path) -> None:
    f = write(tmp_path / "events.jsonl", "messageId,userId\nm1,u1\n")
    with pytest.raises(FileFormatError, match=r"events.jsonl: line 1, column 1: not JSON .* expects JSON lines"):
        load_file(store, EVENTS, f)
    assert store.source_counts() == {} and store.quarantined() == []


def test_folder_is_checked_before_the_first_write(store: GraphStore, tmp_path: Path) -> None:
    generate(tmp_path, records=200, seed=3)
    (tmp_path / "support.csv").write_bytes(b"\xff\xfe broken")
    with pytest.raises(FileFormatError, match="support.csv: line 1, column 1"):
        load_folder(store, tmp_path)
    assert store.source_counts() == {}


# -- idempotency and updates ----------------------------------------------------------


def test_loading_twice_changes_nothing(store: GraphStore, tmp_path: Path) -> None:
    g = generate(tmp_path, records=400, seed=11, noise=NOISY)
    first = load_folder(store, tmp_path, batch_size=97)
    t1 = totals(first)
    assert t1["read"] == g.records and t1["inserted"] + t1["quarantined"] == g.records
    assert t1["quarantined"] == sum(g.bad_rows.values()) > 0
    assert all(s.balanced for s in first.values())
    before = snapshot(store)
    meta = {r.key: (r.batch_id, r.loaded_at) for r in store.iter_records()}

    second = load_folder(store, tmp_path, batch_size=97)
    t2 = totals(second)
    assert t2 == {**t1, "inserted": 0, "unchanged": t1["inserted"]}
    assert snapshot(store) == before  # quarantine not added twice, no history, same identifiers
    assert {r.key: (r.batch_id, r.loaded_at) for r in store.iter_records()} == meta  # unchanged rows untouched


def test_changed_row_is_updated_in_place_with_history(store: GraphStore, tmp_path: Path) -> None:
    f = write(tmp_path / "shop.csv", HEADER + "".join(GOOD))
    s1 = load_file(store, SHOP, f)
    old = store.get_record("shop:2")
    write(f, HEADER + GOOD[0] + GOOD[1].replace("john@acme.com,,dev-1", "john@roe.org,,dev-2") + GOOD[2])
    s2 = load_file(store, SHOP, f)
    assert (s2.read, s2.inserted, s2.updated, s2.unchanged) == (3, 0, 1, 2)
    new = store.get_record("shop:2")
    assert new.batch_id == s2.batch_id != s1.batch_id
    assert new.history == [{"content_hash": old.content_hash, "loaded_at": old.loaded_at}]
    assert {(i.kind, i.value) for i in new.identifiers} == {("email", "john@roe.org"), ("domain", "roe.org"), ("device_id", "dev-2")}
    idents = store.get_identifiers(["device_id:dev-1", "device_id:dev-2", "email:john@acme.com"])
    assert idents["device_id:dev-1"].degree == 1 and idents["device_id:dev-2"].degree == 1
    assert "email:john@acme.com" not in idents  # an identifier exists only while a record carries it


def test_parallel_conversion_gives_the_same_result(store_kind: str, tmp_path: Path) -> None:
    generate(tmp_path / "data", records=600, seed=5, noise=NOISY)
    results = []
    for workers in (0, 2):
        with fresh(store_kind, tmp_path / f"w{workers}") as st:
            summaries = load_folder(st, tmp_path / "data", batch_size=50, workers=workers)
            results.append((totals(summaries), {k: dict(s.invalid_values) for k, s in summaries.items()}, snapshot(st)))
    assert results[0] == results[1]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_parallel_duplicate_id_across_blocks_keeps_its_raw_text(
    store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eol: str
) -> None:
    """Workers send a record's raw text only when they quarantine the row; a "duplicate id"
    is found by the loading process, which reads the row again from the file. With blocks
    of a few hundred bytes the first and the repeated row are blocks apart, and the repeat
    has a quoted field over two lines; its quarantine row must carry its text exactly."""
    from loaders import parallel

    monkeypatch.setattr(parallel, "BLOCK_BYTES", 300)
    rows = [f"{i},Person {i},Co {i},1,2024-01-02T03:04:05Z,p{i}@example.com,,dev-{i}{eol}" for i in range(10, 60)]
    changed = f'12,"Person{eol}Twelve",Other Corp,1,2024-01-02T03:04:05Z,p12@example.com,,dev-12{eol}'
    repeat = rows[5]  # an identical repeat of id 15: unchanged, not quarantined
    f = tmp_path / "shop.csv"
    f.write_bytes((HEADER.replace("\n", eol) + "".join(rows) + changed + repeat + rows[7]).encode())
    s = load_file(store, SHOP, f, workers=2)
    assert (s.read, s.inserted, s.unchanged, s.quarantined) == (53, 50, 2, 1)
    [q] = store.quarantined()
    assert (q.line, q.raw) == (52, changed) == (52, *[r.raw for r in read_rows(f, SHOP) if r.line == 52])
    assert q.reason == "duplicate id: '12' already read at line 4 with different content"

    lines = [json.dumps({"id": f"r{i}", "user": f"u{i}", "name": f"N {i}"}) + eol for i in range(60)]
    dup = json.dumps({"id": "r3", "user": "u3", "name": "Другой"}, ensure_ascii=False) + eol
    g = tmp_path / "events.jsonl"
    g.write_bytes(("".join(lines) + eol + dup).encode())
    events = parse_mapping(
        {"name": "events", "format": "jsonl", "id_column": "id", "attributes": {"full_name": "name"},
         "identifiers": [{"column": "user", "kind": "user_id"}]},
        "events.yaml",
    )
    s = load_file(store, events, g, workers=2)
    assert (s.read, s.inserted, s.quarantined) == (61, 60, 1)
    [q] = store.quarantined(source="events")
    # as the single-process reader gives it (JSON lines are read with universal newlines)
    assert (q.line, q.raw) == (62, dup.replace("\r\n", "\n")) == (62, *[r.raw for r in read_rows(g, events) if r.line == 62])
    assert q.reason == "duplicate id: 'r3' already read at line 4 with different content"


_TEXTS = st.text(max_size=8)


@settings(max_examples=200, deadline=None)
@given(
    source=st.text(min_size=1, max_size=5).filter(lambda t: ":" not in t), sid=_TEXTS,
    attrs=st.dictionaries(_TEXTS, st.one_of(_TEXTS, st.lists(_TEXTS, max_size=3)), max_size=4),
    norm=st.dictionaries(_TEXTS, _TEXTS, max_size=4),
    idents=st.lists(st.tuples(_TEXTS, _TEXTS, _TEXTS), max_size=4), updated_at=st.one_of(st.none(), _TEXTS),
)
def test_content_hash_is_the_hash_of_the_whole_json_array(
    source: str, sid: str, attrs: dict[str, Any], norm: dict[str, str], idents: list[tuple[str, str, str]],
    updated_at: str | None,
) -> None:
    """The loaders hash attrs and norm as the JSON text they keep; the hash must stay the one
    of the whole payload, or every stored record would look changed on the next reload."""
    try:
        whole = jsontext.dumpb((source, sid, attrs, norm, sorted(idents), updated_at))
    except UnicodeEncodeError:  # a lone surrogate: neither form can be hashed
        with pytest.raises(UnicodeEncodeError):
            content_hash(source, sid, attrs, norm, idents, updated_at)
        return
    assert content_hash(source, sid, attrs, norm, idents, updated_at) == blake2b(whole, digest_size=16).hexdigest()


# -- crash and rerun ------------------------------------------------------------------


class CrashAfter:
    """Delegates to a real store and raises after `n` record batches were written:
    the crash happens between two committed batches, as a killed process would."""

    def __init__(self, store: GraphStore, n: int) -> None:
        self._store = store
        self._left = n

    def upsert_records(self, records: Any) -> Any:
        if self._left == 0:
            raise RuntimeError("simulated crash")
        self._left -= 1
        return self._store.upsert_records(records)

    def upsert_encoded(self, records: Any) -> Any:  # what the loader calls
        if self._left == 0:
            raise RuntimeError("simulated crash")
        self._left -= 1
        return self._store.upsert_encoded(records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def _reference(store_kind: str, tmp_path: Path, data: Path) -> dict[str, Any]:
    """The state an uninterrupted load leaves (a fresh store of the same kind)."""
    with fresh(store_kind, tmp_path / "ref") as ref:
        load_folder(ref, data, batch_size=50)
        return snapshot(ref)


def test_exception_between_batches_then_rerun_equals_uninterrupted_load(store_kind: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    g = generate(data, records=500, seed=21, noise=NOISY)
    expected = _reference(store_kind, tmp_path, data) if store_kind == "sqlite" else None
    with make_store(store_kind, tmp_path) as store:
        if expected is None:  # one Neo4j database: load the reference first, then wipe
            load_folder(store, data, batch_size=50)
            expected = snapshot(store)
            store.wipe()
        with pytest.raises(RuntimeError, match="simulated crash"):
            load_folder(CrashAfter(store, 4), data, batch_size=50)  # type: ignore[arg-type]
        partial = sum(store.source_counts().values())
        assert 0 < partial < g.records
        rerun = load_folder(store, data, batch_size=50)
        t = totals(rerun)
        assert t["read"] == g.records and t["updated"] == 0
        assert t["unchanged"] == partial and t["inserted"] + t["unchanged"] + t["quarantined"] == g.records
        assert snapshot(store) == expected


_KILL_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from graphstore.connect import open_store
    from loaders.load import load_file

    def progress(done, total):
        print(done, flush=True)
        time.sleep(0.2)  # between batches: the parent kills us here

    with open_store(sys.argv[1]) as store:
        load_file(store, sys.argv[2], sys.argv[3], batch_size=int(sys.argv[4]), progress=progress, workers=0)
    print("finished", flush=True)
    """
)


def test_sigkill_mid_load_then_rerun_equals_uninterrupted_load(store_kind: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    g = generate(data, records=2000, seed=8, noise=NOISY)
    crm = data / "crm.csv"
    with fresh(store_kind, tmp_path / "ref") as ref:
        load_file(ref, "crm", crm, batch_size=100)
        expected = snapshot(ref)
        ref.wipe()
    make_store(store_kind, tmp_path).close()  # an empty store for the load we kill
    uri = f"sqlite:///{tmp_path / 'store.db'}" if store_kind == "sqlite" else neo4j_uri()

    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_SCRIPT, uri, "crm", str(crm), "100"],
        stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    for _ in range(3):  # three batches committed, then SIGKILL while it waits
        line = proc.stdout.readline()
        assert line.strip().isdigit(), line
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL

    with make_store(store_kind, tmp_path) if store_kind == "sqlite" else _reopen_neo4j() as store:
        if store_kind == "sqlite":  # killed inside bulk_load: reopening brought the indexes back
            assert _indexes(store) == _indexes(fresh("sqlite", tmp_path / "fresh"))
        partial = store.source_counts().get("crm", 0)
        assert 200 < partial < g.counts["crm"] - 100  # some batches (minus quarantined rows), not all
        s = load_file(store, "crm", crm, batch_size=100)
        assert s.read == g.counts["crm"] and s.unchanged >= partial and s.updated == 0
        assert snapshot(store) == expected


def _reopen_neo4j() -> GraphStore:
    from graphstore.connect import open_store

    return open_store(neo4j_uri())


# -- bulk loads (SQLite defers index upkeep into an empty store) ----------------------


def _indexes(store: GraphStore) -> set[tuple[str, str]]:
    return set(store._query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))  # type: ignore[attr-defined]


def _degrees_from_records(store: GraphStore) -> dict[str, int]:
    carriers: dict[str, set[str]] = {}
    for r in store.iter_records():
        for i in r.identifiers:
            carriers.setdefault(i.key, set()).add(r.key)
    return {k: len(v) for k, v in carriers.items()}


def test_bulk_load_into_an_empty_sqlite_store_defers_and_restores_indexes(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    before = _indexes(store)
    # records_load_seq stays: every write appends at its end
    deferred = {name for name, _ in before if name.startswith(("records_", "has_", "identifiers_"))} - {"records_load_seq"}
    assert {"records_full_name", "records_source_id", "has_identifier", "identifiers_degree"} <= deferred
    with store.bulk_load():
        with store.bulk_load():  # nested: the inner block neither drops nor restores
            assert {name for name, _ in _indexes(store)} & deferred == set()
            assert "records_load_seq" in {name for name, _ in _indexes(store)}
        assert {name for name, _ in _indexes(store)} & deferred == set()
        load_file(store, SHOP, write(tmp_path / "shop.csv", HEADER + "".join(GOOD)))
        dev = identifier_key("device_id", "dev-1")
        assert store.counts()["identifiers"] == 0  # the nodes and degrees come at the end
        assert store.get_records(["shop:1"])["shop:1"].identifiers == []
    assert _indexes(store) == before
    degrees = _degrees_from_records(store)
    assert degrees[identifier_key("device_id", "dev-1")] == 2 and len(degrees) >= 5
    assert {k: i.degree for k, i in store.get_identifiers(degrees).items()} == degrees
    assert store.counts()["identifiers"] == len(degrees)
    with store.bulk_load():  # not empty any more: readers keep their indexes, identifiers stay current
        assert _indexes(store) == before
        load_file(store, SHOP, write(tmp_path / "more.csv", HEADER + "4,Kim Lee,Acme Inc.,1,2024-02-01T00:00:00Z,kim@acme.com,,dev-1\n"))
        assert store.get_identifiers([dev])[dev].degree == 3
    assert _indexes(store) == before


def test_a_record_rewritten_inside_the_bulk_block_keeps_only_its_new_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the block the links of a batch out of key order are staged (here from the
    first such batch on); a record written again replaces its staged links."""
    monkeypatch.setattr("graphstore.sqlite_store._STAGE_AFTER", 0)
    store = make_store("sqlite", tmp_path)
    with store.bulk_load():
        load_file(store, SHOP, write(tmp_path / "shop.csv", HEADER + "".join(reversed(GOOD))))
        assert store._query("SELECT count(*) FROM has")[0][0] == 0  # type: ignore[attr-defined]
        changed = GOOD[1].replace("john@acme.com", "john.roe@acme.com").replace("dev-1", "dev-2")
        summary = load_file(store, SHOP, write(tmp_path / "again.csv", HEADER + changed))
        assert summary.updated == 1
    links = {i.key for i in store.get_records(["shop:2"])["shop:2"].identifiers}
    assert links == {identifier_key("email", "john.roe@acme.com"), identifier_key("device_id", "dev-2"),
                     identifier_key("domain", "acme.com")}
    dev1, dev2 = identifier_key("device_id", "dev-1"), identifier_key("device_id", "dev-2")
    assert store.records_with_identifiers([dev1, dev2]) == {dev1: ["shop:1"], dev2: ["shop:2"]}
    degrees = _degrees_from_records(store)
    assert {k: i.degree for k, i in store.get_identifiers(degrees).items()} == degrees
    assert identifier_key("email", "john@acme.com") not in degrees
    assert store._query("SELECT name FROM sqlite_master WHERE name = 'has_bulk'") == []  # type: ignore[attr-defined]


def test_a_died_bulk_load_is_finished_by_the_next_open(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from graphstore.sqlite_store import SqliteStore

    monkeypatch.setattr("graphstore.sqlite_store._STAGE_AFTER", 0)
    store = make_store("sqlite", tmp_path)
    with store.bulk_load():  # rows out of key order: their links are staged
        load_file(store, SHOP, write(tmp_path / "shop.csv", HEADER + "".join(reversed(GOOD))))
        with SqliteStore(store.path) as other:  # its owner (this process) is alive: left alone
            assert other.counts()["identifiers"] == 0
        with store._tx() as c:  # type: ignore[attr-defined]
            c.execute("UPDATE meta SET value = '999999999@' || substr(value, instr(value, '@') + 1) WHERE key = 'bulk_load'")
        with SqliteStore(store.path) as reopened:  # the owner is gone now: the open finishes its work
            degrees = _degrees_from_records(reopened)  # the staged links moved in
            assert degrees[identifier_key("device_id", "dev-1")] == 2 and len(degrees) >= 5
            assert {k: i.degree for k, i in reopened.get_identifiers(degrees).items()} == degrees
            assert reopened.get_meta("bulk_load") is None
    assert _degrees_from_records(store) == degrees and store.counts()["identifiers"] == len(degrees)


def test_a_second_bulk_load_while_the_first_is_live_loads_the_plain_way(tmp_path: Path) -> None:
    """Two loaders starting on the same empty store: one claims it, the other keeps
    identifiers current itself, so its rows never wait on (or die with) the first one."""
    from graphstore.sqlite_store import SqliteStore

    first = make_store("sqlite", tmp_path)
    before = _indexes(first)
    with first.bulk_load():
        with SqliteStore(first.path) as second:
            with second.bulk_load():  # the store is still empty, but claimed by a live loader
                load_file(second, SHOP, write(tmp_path / "shop.csv", HEADER + "".join(GOOD)))
                dev = identifier_key("device_id", "dev-1")
                assert second.get_identifiers([dev])[dev].degree == 2  # kept current, not deferred
        assert first.get_meta("bulk_load") is not None  # still the first loader's claim
        load_file(first, SHOP, write(tmp_path / "more.csv", HEADER + "4,Kim Lee,Acme Inc.,1,2024-02-01T00:00:00Z,kim@acme.com,,dev-1\n"))
    assert _indexes(first) == before and first.get_meta("bulk_load") is None
    degrees = _degrees_from_records(first)
    assert degrees[dev] == 3
    assert {k: i.degree for k, i in first.get_identifiers(degrees).items()} == degrees


def test_bulk_load_restores_indexes_when_the_load_fails(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    before = _indexes(store)
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_file(CrashAfter(store, 0), SHOP, write(tmp_path / "shop.csv", HEADER + "".join(GOOD)))  # type: ignore[arg-type]
    assert _indexes(store) == before
