"""Load throughput: generated sample files through the loaders into each store.

Generates N records (five sources, default 100,000), then for each store loads the
whole folder into a fresh store (every row read, normalized, hashed, written or
quarantined) and loads it again (everything unchanged). Prints records/s per source
and in total, and how much of the wall time the main process spent inside store calls
(the write path) versus everything else (reading, normalizing, hashing, pipeline), so
the figure says what limits it. Store calls run on the loader's writer thread while
the next batch is converted, so a share near 100% means the store's write path is
the bottleneck, a low share means conversion is. Appends the figures to bench/RESULTS.md with the date
and the machine. Asserts nothing.

    python bench/load_throughput.py                       # SQLite (temp file) and Neo4j ($NEO4J_URI)
    python bench/load_throughput.py --store sqlite --records 20000 --workers 0
    python bench/load_throughput.py --store sqlite --profile out/profiles   # pyinstrument

--profile DIR profiles the first load of each store with pyinstrument (bench extra): the
loading thread of the main process (reading, pipeline, waiting for the writer) goes to
DIR/load-<records>-<store>-main.{txt,html}, the store calls on the writer thread to
DIR/load-<records>-<store>-writer.{txt,html}. Conversion in worker processes is not
sampled; add --workers 0 to see it in the main report. Rates then include the profiler's
overhead.

The Neo4j store is WIPED first: point it at a development database only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    append_results,
    machine,
    profiled,
    sample_data,
    size_label,
    start_profiler,
    top_frames,
    write_profile,
)

from graphstore.connect import open_store  # noqa: E402
from graphstore.store import GraphStore, StoreError  # noqa: E402
from loaders.load import LoadSummary, load_folder  # noqa: E402


class StoreTimer:
    """Wraps a store's write-path methods and adds up the wall time spent in them; with
    `profile_writes`, also samples each call made on another thread (the loader's writer)
    with pyinstrument and keeps the sessions."""

    METHODS = ("upsert_records", "upsert_encoded", "record_hashes", "add_quarantine", "quarantined", "save_run")

    def __init__(self, store: GraphStore, profile_writes: bool = False) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.sessions: list[Any] = []
        self._profile_writes = profile_writes
        self._loading_thread = threading.get_ident()
        for name in self.METHODS:
            setattr(store, name, self._timed(name, getattr(store, name)))
        self.bulk: dict[str, float] = defaultdict(float)  # entering / leaving bulk_load blocks
        bulk_load = store.bulk_load
        setattr(store, "bulk_load", lambda: _TimedBlock(bulk_load(), self.bulk))

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            prof = (start_profiler() if self._profile_writes and threading.get_ident() != self._loading_thread
                    else None)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - t0
                if prof is not None:
                    self.sessions.append(prof.stop())

        return call

    def total(self) -> float:
        return sum(self.spent.values())


class _TimedBlock:
    """A store's bulk_load block, timing its entry and its exit (where a store rebuilds what
    it deferred; that runs on the loading thread after the last write)."""

    def __init__(self, block: Any, spent: dict[str, float]) -> None:
        self._block = block
        self._spent = spent

    def __enter__(self) -> Any:
        t0 = time.perf_counter()
        try:
            return self._block.__enter__()
        finally:
            self._spent["enter"] += time.perf_counter() - t0

    def __exit__(self, *exc: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self._block.__exit__(*exc)
        finally:
            self._spent["exit"] += time.perf_counter() - t0


def run_load(store: GraphStore, folder: Path, batch: int, workers: int | None,
             profile_writes: bool = False) -> tuple[float, dict[str, LoadSummary], StoreTimer]:
    timer = StoreTimer(store, profile_writes)
    t0 = time.perf_counter()
    summaries = load_folder(store, folder, batch_size=batch, workers=workers)
    wall = time.perf_counter() - t0
    for name in (*StoreTimer.METHODS, "bulk_load"):  # unwrap
        store.__dict__.pop(name, None)
    return wall, summaries, timer


def bench(kind: str, uri: str, folder: Path, n: int, batch: int, workers: int | None,
          profile: Path | None) -> dict[str, float]:
    store = open_store(uri)
    try:
        info = store.info()
        print(f"{info.backend}: {info.version} at {info.uri} (batch {batch}, workers {'auto' if workers is None else workers})",
              flush=True)
        store.wipe()
        stem = profile / f"load-{size_label(n)}-{kind}" if profile else None
        main_stem = stem.with_name(stem.name + "-main") if stem else None
        title = (f"load_throughput.py, first load of {n:,} records into {kind} "
                 f"(workers {'auto' if workers is None else workers})")
        with profiled(main_stem, f"{title}: the loading thread"):
            wall, summaries, timer = run_load(store, folder, batch, workers, profile_writes=stem is not None)
        in_store = timer.total()
        read = sum(s.read for s in summaries.values())
        for source, s in summaries.items():
            print(f"  {source:<10} {s.read:>9,} read {s.inserted:>9,} inserted {s.quarantined:>5,} quarantined"
                  f" {s.elapsed:7.2f} s {s.records_per_second:>9,.0f} records/s", flush=True)
        rate = read / wall
        bulk = sum(timer.bulk.values())
        print(f"  {'load':<10} {read:>9,} records {wall:7.2f} s {rate:>9,.0f} records/s"
              f"  (writer{'s' if store.concurrent_writes > 1 else ''} busy in store calls {in_store:.1f} s ="
              f" {in_store / wall:.0%} of wall time"
              f"{f', summed over {store.concurrent_writes} threads' if store.concurrent_writes > 1 else ''};"
              f" bulk_load enter + exit {bulk:.1f} s)", flush=True)
        wall2, again, timer2 = run_load(store, folder, batch, workers)
        in_store2 = timer2.total()
        unchanged = sum(s.unchanged for s in again.values())
        rate2 = read / wall2
        print(f"  {'reload':<10} {read:>9,} records {wall2:7.2f} s {rate2:>9,.0f} records/s"
              f"  ({unchanged:,} unchanged; store calls {in_store2:.1f} s)", flush=True)
        store.wipe()
        if stem and main_stem:
            print(top_frames(main_stem.with_suffix(".txt").read_text("utf-8")), flush=True)
            written = [main_stem]
            if timer.sessions:
                from pyinstrument.session import Session

                combined = timer.sessions[0]
                for session in timer.sessions[1:]:
                    combined = Session.combine(combined, session)
                writer_stem = stem.with_name(stem.name + "-writer")
                print(top_frames(write_profile(combined, writer_stem,
                                               f"{title}: store calls on the writer thread")), flush=True)
                written.append(writer_stem)
            print("  profiles: " + ", ".join(f"{s}.txt/.html" for s in written), flush=True)
        return {"load": rate, "reload": rate2, "store_share": in_store / wall, "bulk_s": bulk, "records": read}
    finally:
        store.close()


def write_results(n: int, gen_rate: float, batch: int, workers: int | None, results: dict[str, dict[str, float]]) -> None:
    lines = [
        f"\n## load_throughput: {time.strftime('%Y-%m-%d %H:%M')} ({machine()})\n",
        f"{n:,} generated records (generator: {gen_rate:,.0f} records/s), batch {batch},"
        f" workers {'auto' if workers is None else workers}.\n",
        "| store | load records/s | reload (unchanged) records/s | writer busy in store calls |",
        "|---|---:|---:|---:|",
    ]
    for kind, r in results.items():
        lines.append(f"| {kind} | {r['load']:,.0f} | {r['reload']:,.0f} | {r['store_share']:.0%} |")
    print(f"appended to {append_results(lines)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000, help="generated records (default 100,000)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--batch", type=int, default=5_000, help="rows per store transaction (default 5,000)")
    p.add_argument("--workers", type=int, default=None, help="conversion processes (default: automatic; 0: none)")
    p.add_argument("--store", choices=("both", "sqlite", "neo4j"), default="both")
    p.add_argument("--profile", metavar="DIR", type=Path,
                   help="pyinstrument the first load; write HTML and text reports to DIR")
    p.add_argument("--no-save", action="store_true", help="do not append to bench/RESULTS.md")
    p.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    args = p.parse_args()
    print(machine(), flush=True)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        g, cached = sample_data(folder, args.records, args.seed)
        gen_rate = g.records / g.elapsed  # when cached: the rate of the run that made them
        print(f"{'cached' if cached else 'generated'}: {g.records:,} records, generated in {g.elapsed:.1f} s"
              f" ({gen_rate:,.0f} records/s)", flush=True)
        if args.store in ("both", "sqlite"):
            results["sqlite"] = bench("sqlite", f"sqlite:///{tmp}/bench.db", folder, args.records, args.batch,
                                      args.workers, args.profile)
        if args.store in ("both", "neo4j"):
            try:
                results["neo4j"] = bench("neo4j", os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"), folder,
                                         args.records, args.batch, args.workers, args.profile)
            except StoreError as exc:
                print(f"neo4j: skipped ({exc})")
    if results and not args.no_save:
        write_results(args.records, gen_rate, args.batch, args.workers, results)
    if args.json:
        import json

        Path(args.json).write_text(json.dumps({"records": args.records, "generator_records_per_s": gen_rate,
                                               "stores": results}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
