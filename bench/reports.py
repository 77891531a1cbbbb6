"""How long do the reports take as the store grows? Prints figures; asserts nothing.

Generates sample data, loads and fully resolves it into a fresh store, then times the
reconciliation (every source's bridge, drill-down included) and each exception kind,
and the process's peak RSS. Appends the figures to bench/RESULTS.md.

    python bench/reports.py                          # 100,000 records, SQLite in a temp dir
    python bench/reports.py --records 20000 --store neo4j   # $NEO4J_URI; the database is WIPED
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import append_results, machine, peak_rss_mib  # noqa: E402

from graphstore.connect import open_store  # noqa: E402
from graphstore.exceptions import KINDS, exceptions  # noqa: E402
from graphstore.reconcile import reconcile  # noqa: E402
from graphstore.resolution import Resolver  # noqa: E402
from loaders.generate import generate  # noqa: E402
from loaders.load import load_folder  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--records", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--store", choices=("sqlite", "neo4j"), default="sqlite")
    p.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp, records=args.records, seed=args.seed)
        uri = f"sqlite:///{tmp}/store.db" if args.store == "sqlite" else os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
        store = open_store(uri)
        if args.store == "neo4j":
            store.wipe()
        t = time.perf_counter()
        load_folder(store, tmp)
        Resolver(store).resolve(full=True)
        setup_s = time.perf_counter() - t
        rss_before = peak_rss_mib()

        t = time.perf_counter()
        report = reconcile(store)
        reconcile_s = time.perf_counter() - t
        for b in report.bridges:
            b.check()
        rss_reconcile = peak_rss_mib()
        kinds: dict[str, tuple[float, int]] = {}
        for kind in KINDS:
            t = time.perf_counter()
            items = exceptions(store, kind)
            kinds[kind] = (time.perf_counter() - t, len(items))
        store.close()

    print(f"{args.records:,} records on {args.store}: load + full resolve {setup_s:.1f}s")
    print(f"reconcile: {reconcile_s:.2f}s ({report.persons:,} persons, {report.accounts:,} accounts), "
          f"peak RSS {rss_before:,.0f} -> {rss_reconcile:,.0f} MiB")
    for b in report.bridges:
        print(f"  {b.source:9} {b.native:>9,} native -> {b.reached:>9,} reached -> {b.resolved:>9,} {b.compare_to}s")
    for kind, (s, n) in kinds.items():
        print(f"{kind:24} {s:6.2f}s  {n:,} items")
    if args.no_results:
        return
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## Reports — {stamp}\n",
        f"Machine: {machine()}. Command: `python bench/reports.py --records {args.records} --store {args.store}`\n",
        f"- {args.records:,} generated records, {report.persons:,} persons, {report.accounts:,} accounts "
        f"(load + full resolve {setup_s:.1f}s)",
        f"- reconcile (5 sources, full drill-down): {reconcile_s:.2f}s; peak RSS {rss_before:,.0f} MiB before, "
        f"{rss_reconcile:,.0f} MiB after",
        "- exceptions: " + ", ".join(f"{k} {s:.2f}s ({n:,})" for k, (s, n) in kinds.items()),
        "",
    ]
    print(f"appended to {append_results(lines)}")


if __name__ == "__main__":
    main()
