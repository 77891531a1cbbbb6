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
    python bench/load_throughput.py --store sqlite --profile   # cProfile of the main process

The Neo4j store is WIPED first: point it at a development database only.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import append_results, machine  # noqa: E402

from graphstore.connect import open_store  # noqa: E402
from graphstore.store import GraphStore, StoreError  # noqa: E402
from loaders.generate import generate  # noqa: E402
from loaders.load import LoadSummary, load_folder  # noqa: E402





class StoreTimer:
    """Wraps a store's write-path methods and adds up the wall time spent in them."""

    METHODS = ("upsert_records", "record_hashes", "add_quarantine", "quarantined", "save_run")

    def __init__(self, store: GraphStore) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        for name in self.METHODS:
            setattr(store, name, self._timed(name, getattr(store, name)))

    def _timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[name] += time.perf_counter() - t0

        return call

    def total(self) -> float:
        return sum(self.spent.values())


def run_load(store: GraphStore, folder: Path, batch: int, workers: int | None) -> tuple[float, dict[str, LoadSummary], float]:
    timer = StoreTimer(store)
    t0 = time.perf_counter()
    summaries = load_folder(store, folder, batch_size=batch, workers=workers)
    wall = time.perf_counter() - t0
    for name in StoreTimer.METHODS:  # unwrap
        store.__dict__.pop(name, None)
    return wall, summaries, timer.total()


def bench(uri: str, folder: Path, n: int, batch: int, workers: int | None, profile: bool) -> dict[str, float]:
    store = open_store(uri)
    try:
        info = store.info()
        print(f"{info.backend}: {info.version} at {info.uri} (batch {batch}, workers {'auto' if workers is None else workers})",
              flush=True)
        store.wipe()
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        wall, summaries, in_store = run_load(store, folder, batch, workers)
        if prof:
            prof.disable()
        read = sum(s.read for s in summaries.values())
        for source, s in summaries.items():
            print(f"  {source:<10} {s.read:>9,} read {s.inserted:>9,} inserted {s.quarantined:>5,} quarantined"
                  f" {s.elapsed:7.2f} s {s.records_per_second:>9,.0f} records/s", flush=True)
        rate = read / wall
        print(f"  {'load':<10} {read:>9,} records {wall:7.2f} s {rate:>9,.0f} records/s"
              f"  (writer busy in store calls {in_store:.1f} s = {in_store / wall:.0%} of wall time)", flush=True)
        wall2, again, in_store2 = run_load(store, folder, batch, workers)
        unchanged = sum(s.unchanged for s in again.values())
        rate2 = read / wall2
        print(f"  {'reload':<10} {read:>9,} records {wall2:7.2f} s {rate2:>9,.0f} records/s"
              f"  ({unchanged:,} unchanged; store calls {in_store2:.1f} s)", flush=True)
        store.wipe()
        if prof:
            print("  main-process profile of the first load, by own time:")
            pstats.Stats(prof).sort_stats("tottime").print_stats(15)
        return {"load": rate, "reload": rate2, "store_share": in_store / wall, "records": read}
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
    p.add_argument("--profile", action="store_true", help="print a cProfile of the main process")
    p.add_argument("--no-save", action="store_true", help="do not append to bench/RESULTS.md")
    p.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    args = p.parse_args()
    print(machine(), flush=True)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        g = generate(folder, records=args.records, seed=args.seed)
        gen_rate = g.records / g.elapsed
        print(f"generated {g.records:,} records in {g.elapsed:.1f} s ({gen_rate:,.0f} records/s)", flush=True)
        if args.store in ("both", "sqlite"):
            results["sqlite"] = bench(f"sqlite:///{tmp}/bench.db", folder, args.records, args.batch, args.workers,
                                      args.profile)
        if args.store in ("both", "neo4j"):
            try:
                results["neo4j"] = bench(os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"), folder, args.records,
                                         args.batch, args.workers, args.profile)
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
