"""How much do golden records cost on read, and how fast is the export? Prints figures; asserts nothing.

Generates sample data, loads and resolves it, then measures:
- golden records computed on read, one entity at a time (what `entitystore show` and a
  single GraphQL `entity { golden }` cost): p50 / p99 ms for persons and for accounts;
- golden records for pages of 100 entities (what a GraphQL page asking for `golden` costs);
- `export` in each format: seconds and entities per second, with peak RSS growth.

    python bench/golden_export.py                        # 20k records, SQLite
    python bench/golden_export.py --records 100000 --store both
    python bench/golden_export.py --store neo4j          # $NEO4J_URI; the database is WIPED

Appends a table to bench/RESULTS.md unless --no-write.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import append_results, machine  # noqa: E402

from graphstore.connect import open_store  # noqa: E402
from graphstore.export import FORMATS, export  # noqa: E402
from graphstore.golden import golden_of_ids  # noqa: E402
from graphstore.model import ACCOUNT, PERSON  # noqa: E402
from graphstore.resolution import Resolver  # noqa: E402
from graphstore.survivorship import load_survivorship  # noqa: E402
from loaders.generate import generate  # noqa: E402
from loaders.load import load_folder  # noqa: E402


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(kind: str, records: int, tmp: Path, samples: int) -> dict[str, Any]:
    uri = f"sqlite:///{tmp / f'bench-{records}.db'}" if kind == "sqlite" else os.environ.get("NEO4J_URI", "neo4j")
    store = open_store(uri)
    if kind == "neo4j":
        store.wipe()
    config = load_survivorship()
    data = tmp / f"data-{records}"
    if not data.exists():
        generate(data, records=records, seed=7)
    t = time.perf_counter()
    load_folder(store, data)
    Resolver(store).resolve(full=True)
    prep = time.perf_counter() - t
    out: dict[str, Any] = {"store": kind, "records": records, "prepare_s": prep}
    for ek in (PERSON, ACCOUNT):
        ids = [e.id for e in store.list_entities(kind=ek, limit=samples)]
        lat = []
        for eid in ids:
            t0 = time.perf_counter()
            golden_of_ids(store, [eid], config)
            lat.append((time.perf_counter() - t0) * 1000)
        out[f"{ek}_p50_ms"], out[f"{ek}_p99_ms"] = statistics.median(lat), _pct(lat, 0.99)
        page = [e.id for e in store.list_entities(kind=ek, limit=100)]
        t0 = time.perf_counter()
        golden_of_ids(store, page, config)
        out[f"{ek}_page100_ms"] = (time.perf_counter() - t0) * 1000
    counts = store.counts()
    n_entities = counts["persons"] + counts["accounts"]
    out["entities"] = n_entities
    for fmt in FORMATS:
        rss0 = _rss_mib()
        t0 = time.perf_counter()
        export(store, tmp / f"out-{kind}-{fmt}", fmt, config)
        s = time.perf_counter() - t0
        out[f"export_{fmt}_s"] = s
        out[f"export_{fmt}_per_s"] = n_entities / s
        out[f"export_{fmt}_rss_growth_mib"] = _rss_mib() - rss0
    store.close()
    return out


def report(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| records | store | entities | person golden p50 / p99 ms | account golden p50 / p99 ms | page of 100 persons / accounts ms "
        "| export csv s | jsonl s | parquet s | parquet entities/s |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['records']:,} | {r['store']} | {r['entities']:,} | {r['person_p50_ms']:.1f} / {r['person_p99_ms']:.1f} "
            f"| {r['account_p50_ms']:.1f} / {r['account_p99_ms']:.1f} | {r['person_page100_ms']:.0f} / {r['account_page100_ms']:.0f} "
            f"| {r['export_csv_s']:.2f} | {r['export_jsonl_s']:.2f} | {r['export_parquet_s']:.2f} "
            f"| {r['export_parquet_per_s']:,.0f} |"
        )
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--store", choices=["sqlite", "neo4j", "both"], default="sqlite")
    ap.add_argument("--samples", type=int, default=300, help="entities timed one at a time, per kind")
    ap.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    args = ap.parse_args()
    stores = ["sqlite", "neo4j"] if args.store == "both" else [args.store]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-golden-") as tmp:
        for kind in stores:
            print(f"{args.records:,} records on {kind} ...", flush=True)
            results.append(run(kind, args.records, Path(tmp), args.samples))
    table = report(results)
    print("\n".join(table))
    if not args.no_write:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        head = [f"\n## Golden records on read and export — {now}\n",
                f"Machine: {machine()}. Command: `python bench/golden_export.py {' '.join(sys.argv[1:])}`\n"]
        print(f"appended to {append_results(head + table).relative_to(ROOT)}")


if __name__ == "__main__":
    main()
