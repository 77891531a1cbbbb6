"""Server CPU per loaded record in Neo4j, per variant of the write: where the load's server time goes.

The Neo4j load is server-bound (the loader's writer waits on the server ~90% of the time), so
this measures what the server spends, not wall time (which the shared machine makes noisy):
utime + stime of the server's JVM from /proc, split by thread (Bolt workers running the query
and its commit, garbage collection, JIT compilers, the rest). Each variant wipes the
database (not measured), then writes the same records one chunk per transaction, as a load
does, and prints server CPU µs per record.

The records are the loader's own: the sample data of `--records` converted by the loaders
(through a throwaway SQLite store, whose write calls are captured), and the `records_write`
parameters are those `Neo4jStore` builds (captured from one real upsert pass). Variants
change one thing each: the parameters (no body, maps instead of lists), the statement
(derived from cypher/records_write.cypher by a textual edit, so the variant follows the file),
the schema (an index dropped for the variant, recreated after), or the chunk size (the whole
upsert path, `records_state` read included, with another `WRITE_CHUNK`).

    python -m bench.neo4j_write_profile                          # every variant, 100k records
    python -m bench.neo4j_write_profile --variants base,no_body --repeat 3
    python -m bench.neo4j_write_profile --jfr /tmp/load.jfr --variants upsert

Needs a Neo4j server on this machine ($NEO4J_URI, $NEO4J_USER, $NEO4J_PASSWORD) and its pid
(--pid, or $NEO4J_CACHE_DIR/neo4j.pid as scripts/neo4j writes it). The database is WIPED.
Prints only; writes nothing to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, sample_data  # noqa: E402
from graphstore import neo4j_store  # noqa: E402
from graphstore.connect import open_store  # noqa: E402
from graphstore.cypher_files import statement, statements  # noqa: E402
from graphstore.model import EncodedRecord  # noqa: E402
from graphstore.neo4j_store import Neo4jStore  # noqa: E402
from loaders.load import load_folder  # noqa: E402

_TICK = os.sysconf("SC_CLK_TCK")
_THREAD_GROUPS = (  # /proc comm prefix -> group
    ("neo4j.BoltWorke", "bolt"),
    ("GC Thread", "gc"), ("G1 ", "gc"), ("VM Thread", "gc"),
    ("C2 Compiler", "jit"), ("C1 Compiler", "jit"),
)

Batches = list[list[EncodedRecord]]
Chunk = dict[str, Any]  # the keyword parameters of one records_write call


# -- measuring the server ------------------------------------------------------------------
def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of the process's live threads, by group. A thread that
    ended between two snapshots drops out; the total comes from the process itself."""
    out: dict[str, float] = defaultdict(float)
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        comm = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        secs = (int(fields[11]) + int(fields[12])) / _TICK
        group = next((g for prefix, g in _THREAD_GROUPS if comm.startswith(prefix)), "other")
        out[group] += secs
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    out["total"] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


@dataclass
class Measure:
    """Server CPU by thread group and wall time of one measured block."""

    cpu: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    phases: list[tuple[float, float, float]] = field(default_factory=list)  # per batch, see batch_phases


@contextmanager
def measured(pid: int) -> Iterator[Measure]:
    m = Measure()
    before, t0 = thread_cpu(pid), time.perf_counter()
    yield m
    m.wall = time.perf_counter() - t0
    after = thread_cpu(pid)
    m.cpu = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
    # A residual (threads that ended meanwhile, and CPU between the per-thread reads and the
    # process read), in whole clock ticks: float subtraction left "-0.0" in the table, and a
    # read skew can leave a tick below zero, which is noise, not CPU.
    residual = m.cpu["total"] - sum(v for k, v in m.cpu.items() if k not in ("total", "other"))
    m.cpu["other"] = max(0.0, round(residual * _TICK) / _TICK)


# -- the loader's records and the store's parameters ------------------------------------------
def loader_batches(records: int, seed: int) -> Batches:
    """The batches of EncodedRecords a load of the sample data hands its store, captured from a
    load into a throwaway SQLite file (the conversion is the same whatever the store)."""
    batches: Batches = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        sample_data(folder, records, seed)
        store = open_store(f"sqlite:///{tmp}/capture.db")
        upsert = store.upsert_encoded

        def capture(recs: Any) -> Any:
            batches.append(list(recs))
            return upsert(recs)

        setattr(store, "upsert_encoded", capture)
        try:
            load_folder(store, folder)
        finally:
            store.close()
    return batches


@contextmanager
def captured_writes() -> Iterator[list[Chunk]]:
    """The parameters of every records_write statement the store runs meanwhile."""
    chunks: list[Chunk] = []
    run = neo4j_store._run

    def spy(tx: Any, name: str, /, **params: Any) -> Any:
        if name == "records_write":
            chunks.append(params)
        return run(tx, name, **params)

    neo4j_store._run = spy
    try:
        yield chunks
    finally:
        neo4j_store._run = run


@contextmanager
def batch_phases(store: Neo4jStore, into: list[tuple[float, float, float]]) -> Iterator[None]:
    """Seconds each upsert batch spends, as its writer thread sees it: before its first
    statement (inside bulk_load, building the parameters), in its statements (each from
    sent to rows back, lock waits included) and after the last one (the commit). Python
    between two statements (outside bulk_load, after the read of stored hashes) is in none
    of the three. With two writers the statements stretch while the commits do not: that
    is where one waits for the other."""
    run, upsert = neo4j_store._run, store.upsert_encoded
    local = threading.local()

    def timed_run(tx: Any, name: str, /, **params: Any) -> Any:
        t = time.perf_counter()
        local.first = getattr(local, "first", None) or t
        try:
            return run(tx, name, **params)
        finally:
            local.last = time.perf_counter()
            local.inside = getattr(local, "inside", 0.0) + local.last - t

    def timed_upsert(records: Any) -> Any:
        local.first = local.last = None
        local.inside = 0.0
        t0 = time.perf_counter()
        result = upsert(records)
        t1 = time.perf_counter()
        if local.first is not None:
            into.append((local.first - t0, local.inside, t1 - local.last))
        return result

    neo4j_store._run = timed_run
    setattr(store, "upsert_encoded", timed_upsert)
    try:
        yield
    finally:
        neo4j_store._run = run
        delattr(store, "upsert_encoded")


@contextmanager
def disjoint_identifiers() -> Iterator[None]:
    """Each writer thread's identifiers get keys of their own (a per-thread suffix), so no
    two writers ever share one: what a load would run at without the waits between them."""
    key = neo4j_store.identifier_key

    def own_key(kind: str, value: str) -> str:
        return f"{key(kind, value)}#{threading.get_ident()}"

    neo4j_store.identifier_key = own_key
    try:
        yield
    finally:
        neo4j_store.identifier_key = key


# -- variants -------------------------------------------------------------------------------
RECORD_FIELDS = ("key", "source", "source_id", "content_hash", "full_name", "body", "at")
IDENT_FIELDS = ("key", "kind")


def _edit(text: str, old: str, new: str) -> str:
    if old not in text:
        raise SystemExit(f"records_write.cypher changed: {old!r} not found; update the variant")
    return text.replace(old, new)


def _no_links(text: str) -> str:
    """Records without their HAS links (creates only; the statement keeps its shape)."""
    return re.sub(r"  WITH r, row\n  CALL \(r, row, nodes\) \{\n.*?\n  \}\n", "", text, count=1, flags=re.S)


def _no_seq_stamp(text: str) -> str:
    """The load number taken but not stamped on the records (what the stamp, a second pass over
    the chunk's records now that the number is taken last, costs)."""
    return _edit(text, "FOREACH (r IN records | SET r.load_seq = seq)\n", "")


def _maps_text(text: str) -> str:
    for n, name in enumerate(RECORD_FIELDS):
        text = text.replace(f"row[{n}]", f"row.{name}")
    # identifier rows use the same row[0..1] names as records: key, kind
    return text.replace("row.source, i.value", "row.kind, i.value").replace("size(row.source)", "size(row.kind)")


def _maps_params(p: Chunk) -> Chunk:
    rec = lambda rows: [dict(zip(RECORD_FIELDS, r)) for r in rows]  # noqa: E731
    return {**p, "creates": rec(p["creates"]), "updates": rec(p["updates"]),
            "identifiers": [dict(zip(IDENT_FIELDS, r)) for r in p["identifiers"]]}


def _body_as(p: Chunk, fn: Callable[[str], Any]) -> Chunk:
    return {**p, "creates": [[*r[:5], fn(r[5]), r[6]] for r in p["creates"]]}


@dataclass
class Variant:
    """One way of writing the same records; `drop` names schema rules dropped for it."""

    name: str
    why: str
    text: Callable[[str], str] = lambda t: t
    params: Callable[[Chunk], Chunk] = lambda p: p
    drop: tuple[str, ...] = ()
    chunk: int | None = None  # set: the whole upsert path with this WRITE_CHUNK (and batch size)
    bulk: bool = False  # the upsert path inside Neo4jStore.bulk_load (an empty store: no records_state read)
    writers: int = 1  # threads upserting batches at once (a loader's writer threads)
    disjoint: bool = False  # each writer thread's identifiers its own (see disjoint_identifiers)


VARIANTS = [
    Variant("upsert", "the store's whole upsert path per 5k batch, as a load calls it (records_state + records_write)",
            chunk=5000),
    Variant("upsert_bulk", "the upsert path inside bulk_load, as a load into an empty store runs it (no records_state)",
            chunk=5000, bulk=True),
    Variant("upsert_bulk_2w", "upsert_bulk from two threads at once, as the loader's two writers (compare wall)",
            chunk=5000, bulk=True, writers=2),
    Variant("upsert_bulk_2w_disjoint", "upsert_bulk_2w, no identifier shared between the writers (no lock waits)",
            chunk=5000, bulk=True, writers=2, disjoint=True),
    Variant("base", "records_write alone, as cypher/records_write.cypher has it"),
    Variant("no_body", "body null (not stored)", params=lambda p: _body_as(p, lambda b: None)),
    Variant("body_zlib", "body zlib-compressed bytes (fewer dynamic records)",
            params=lambda p: _body_as(p, lambda b: zlib.compress(b.encode(), 1))),
    Variant("no_links", "no HAS links (creates)", text=_no_links),
    Variant("no_seq_stamp", "load number taken last but not stamped on the records", text=_no_seq_stamp),
    Variant("no_idx_source_id", "without index record_source_id", drop=("record_source_id",)),
    Variant("no_idx_full_name", "without index record_full_name", drop=("record_full_name",)),
    Variant("no_idx_load_seq", "without index record_load_seq", drop=("record_load_seq",)),
    Variant("no_record_key", "without constraint record_key (its index)", drop=("record_key",)),
    Variant("maps", "rows as maps instead of lists", text=_maps_text, params=_maps_params),
    Variant("upsert_2k", "whole upsert path, 2,000 per statement and transaction", chunk=2000),
    Variant("upsert_10k", "whole upsert path, 10,000 per statement and transaction", chunk=10000),
    Variant("upsert_20k", "whole upsert path, 20,000 per statement and transaction", chunk=20000),
]


def _schema_rule(name: str) -> str:
    for text in statements("schema"):
        if re.search(rf"\b(INDEX|CONSTRAINT) {name} IF NOT EXISTS", text):
            return text
    raise SystemExit(f"no schema rule named {name} in cypher/schema.cypher")


def run_variant(store: Neo4jStore, pid: int, v: Variant, batches: Batches, chunks: list[Chunk]) -> tuple[Measure, int]:
    store.wipe()
    with store.driver.session(database=store._database) as s:
        for name in v.drop:
            kind = "CONSTRAINT" if "CONSTRAINT" in _schema_rule(name) else "INDEX"
            s.run(f"DROP {kind} {name} IF EXISTS").consume()  # type: ignore[arg-type]
    try:
        if v.chunk is not None:
            flat = [r for b in batches for r in b]
            groups = [flat[i : i + v.chunk] for i in range(0, len(flat), v.chunk)]
            old = neo4j_store.WRITE_CHUNK
            neo4j_store.WRITE_CHUNK = v.chunk
            phases: list[tuple[float, float, float]] = []
            try:
                with (disjoint_identifiers() if v.disjoint else nullcontext()), batch_phases(store, phases), \
                        measured(pid) as m, (store.bulk_load() if v.bulk else nullcontext()), \
                        ThreadPoolExecutor(v.writers) as pool:
                    for _ in pool.map(store.upsert_encoded, groups):
                        pass
                m.phases = phases
            finally:
                neo4j_store.WRITE_CHUNK = old
            return m, len(flat)
        text = v.text(statement("records_write"))
        params = [v.params(p) for p in chunks]
        with store.driver.session(database=store._database) as s, measured(pid) as m:
            for p in params:
                s.execute_write(lambda tx, p=p: tx.run(text, p).consume())  # type: ignore[arg-type]
        return m, sum(len(p["creates"]) + len(p["updates"]) for p in chunks)
    finally:
        if v.drop:
            with store.driver.session(database=store._database) as s:
                for name in v.drop:
                    s.run(_schema_rule(name)).consume()  # type: ignore[arg-type]
                s.run("CALL db.awaitIndexes(300)").consume()


@contextmanager
def flight_recording(pid: int, path: Path | None) -> Iterator[None]:
    """Java Flight Recorder (profile settings) on the server while the block runs, if asked."""
    jcmd = str(Path(os.readlink(f"/proc/{pid}/exe")).with_name("jcmd"))  # the server's own JDK
    if path is not None:
        subprocess.run([jcmd, str(pid), "JFR.start", "name=write_profile", "settings=profile",
                        f"filename={path}"], check=True, capture_output=True)
    try:
        yield
    finally:
        if path is not None:
            subprocess.run([jcmd, str(pid), "JFR.stop", "name=write_profile"], check=True, capture_output=True)
            print(f"flight recording: {path}", flush=True)


def _pid(arg: int | None) -> int:
    if arg:
        return arg
    cache = os.environ.get("NEO4J_CACHE_DIR") or str(Path(__file__).resolve().parent.parent / ".neo4j")
    try:
        return int(Path(cache, "neo4j.pid").read_text().strip())
    except OSError:
        raise SystemExit(f"no server pid: pass --pid, or set NEO4J_CACHE_DIR ({cache}/neo4j.pid missing)") from None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000, help="sample records (default 100,000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--variants", default=",".join(v.name for v in VARIANTS),
                   help="comma-separated, in order (default: all): " + ", ".join(v.name for v in VARIANTS))
    p.add_argument("--repeat", type=int, default=2, help="runs of each variant, interleaved (default 2)")
    p.add_argument("--pid", type=int, help="the server's pid (default: $NEO4J_CACHE_DIR/neo4j.pid)")
    p.add_argument("--jfr", type=Path, help="record the measured runs with Java Flight Recorder into this file")
    args = p.parse_args()
    pid = _pid(args.pid)
    by_name = {v.name: v for v in VARIANTS}
    chosen = [by_name[n] for n in args.variants.split(",") if n]
    print(machine(), flush=True)
    t0 = time.perf_counter()
    batches = loader_batches(args.records, args.seed)
    print(f"captured {sum(map(len, batches)):,} records in {len(batches)} batches ({time.perf_counter() - t0:.1f} s)",
          flush=True)
    store = open_store(os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
    assert isinstance(store, Neo4jStore)
    try:
        store.wipe()
        with captured_writes() as chunks, measured(pid) as warm:  # also warms the server's JIT up
            for b in batches:
                store.upsert_encoded(b)
        print(f"warm-up upsert pass: server {warm.cpu['total']:.1f} s CPU, {warm.wall:.1f} s wall", flush=True)
        results: dict[str, list[tuple[Measure, int]]] = defaultdict(list)
        with flight_recording(pid, args.jfr):
            for _ in range(args.repeat):
                for v in chosen:
                    results[v.name].append(run_variant(store, pid, v, batches, chunks))
                    m, n = results[v.name][-1]
                    print(f"  {v.name:<18} {1e6 * m.cpu['total'] / n:7.1f} µs/record server CPU"
                          f"  (wall {m.wall:5.1f} s = {n / m.wall:,.0f} records/s, load {os.getloadavg()[0]:.1f})",
                          flush=True)
                    if m.phases:
                        before, inside, after = (1000 * statistics.median(p[i] for p in m.phases) for i in range(3))
                        print(f"  {'':<18} per batch (median ms): before the statements {before:.0f},"
                              f" in them {inside:.0f}, commit {after:.0f}; Bolt workers on CPU"
                              f" {m.cpu.get('bolt', 0.0) / m.wall:.2f} cores", flush=True)
        store.wipe()
    finally:
        store.close()
    print(f"\nserver CPU µs per record (median of {args.repeat}; by thread: bolt workers, GC, JIT, other)")
    print(f"{'variant':<18} {'total':>7} {'bolt':>7} {'gc':>6} {'jit':>6} {'other':>6}  {'vs base':>7}  what")
    med = {}
    for v in chosen:
        runs = sorted(results[v.name], key=lambda r: r[0].cpu["total"] / r[1])
        m, n = runs[len(runs) // 2]
        med[v.name] = m.cpu["total"] / n
        ref = med.get("base") if v.chunk is None else med.get("upsert")
        rel = f"{med[v.name] / ref:6.2f}x" if ref else "      -"
        g = {k: 1e6 * m.cpu.get(k, 0.0) / n for k in ("total", "bolt", "gc", "jit", "other")}
        print(f"{v.name:<18} {g['total']:7.1f} {g['bolt']:7.1f} {g['gc']:6.1f} {g['jit']:6.1f} {g['other']:6.1f}"
              f"  {rel}  {v.why}")


if __name__ == "__main__":
    main()
