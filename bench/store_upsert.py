"""How fast can a loader push records into each store? Prints figures; asserts nothing.

Synthetic records shaped like a loader's output (a few attributes, ~3 identifiers each,
some shared across records so identifier nodes get real degrees) are upserted in batches
into a fresh store, then upserted again (all unchanged), then a slice is changed (updates).

    python bench/store_upsert.py                         # SQLite (temp file) and Neo4j ($NEO4J_URI)
    python bench/store_upsert.py --n 50000 --batch 5000 --store sqlite
    python bench/store_upsert.py --store neo4j           # credentials from NEO4J_USER / NEO4J_PASSWORD

The Neo4j store is WIPED first: point it at a development database only.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphstore.connect import open_store  # noqa: E402
from graphstore.model import IdentifierRef, Record  # noqa: E402
from graphstore.store import GraphStore, StoreError  # noqa: E402


def make_records(n: int, version: int = 0) -> list[Record]:
    """n records over 3 sources; emails mostly unique, domains and devices shared."""
    sources = ("crm", "billing", "product")
    out = []
    for i in range(n):
        src = sources[i % 3]
        first, last = f"First{i % 977}", f"Last{i % 1361}"
        idents = [
            IdentifierRef("email", f"user{i // 2}@corp{i % 5000}.example", "email"),  # pairs share an email
            IdentifierRef("domain", f"corp{i % 5000}.example", "email"),
            IdentifierRef("device_id" if src == "product" else "phone", f"+44{(i * 7919) % 10_000_000:07d}", "phone"),
        ]
        out.append(
            Record(
                source=src,
                source_id=str(i),
                attrs={"first_name": first, "last_name": last, "email": f"user{i // 2}@corp{i % 5000}.example",
                       "v": version},
                norm={"first_name": first.lower(), "last_name": last.lower()},
                identifiers=idents,
                updated_at="2026-01-01T00:00:00+00:00",
                batch_id=f"bench-{version}",
            )
        )
    return out


def timed(label: str, n: int, fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    dt = time.perf_counter() - t0
    print(f"  {label:<28} {n:>8,} records {dt:7.2f} s {n / dt:>10,.0f} records/s", flush=True)
    return n / dt


def upsert_all(store: GraphStore, records: Sequence[Record], batch: int) -> dict[str, int]:
    totals = {"inserted": 0, "updated": 0, "unchanged": 0}
    for i in range(0, len(records), batch):
        r = store.upsert_records(records[i : i + batch])
        totals["inserted"] += len(r.inserted)
        totals["updated"] += len(r.updated)
        totals["unchanged"] += len(r.unchanged)
    return totals


def bench(uri: str, n: int, batch: int) -> dict[str, float]:
    store = open_store(uri)
    try:
        print(f"{store.info().backend}: {store.info().version} at {store.info().uri}", flush=True)
        store.wipe()
        fresh = make_records(n)
        rates = {"insert": timed("insert (fresh store)", n, lambda: upsert_all(store, fresh, batch))}
        again = make_records(n)  # equal content, new objects: classified unchanged by hash
        rates["unchanged"] = timed("re-upsert (all unchanged)", n, lambda: upsert_all(store, again, batch))
        k = n // 5
        changed = make_records(k, version=1)
        rates["update"] = timed("update (20% changed)", k, lambda: upsert_all(store, changed, batch))
        c = store.counts()
        print(f"  counts: records={c['records']:,} identifiers={c['identifiers']:,} has={c['has']:,}", flush=True)
        store.wipe()
        return rates
    finally:
        store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50_000, help="records (default 50,000)")
    p.add_argument("--batch", type=int, default=5_000, help="records per upsert_records call (default 5,000)")
    p.add_argument("--store", choices=("both", "sqlite", "neo4j"), default="both")
    args = p.parse_args()
    results: dict[str, dict[str, float]] = {}
    if args.store in ("both", "sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = bench(f"sqlite:///{tmp}/bench.db", args.n, args.batch)
    if args.store in ("both", "neo4j"):
        try:
            results["neo4j"] = bench(os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"), args.n, args.batch)
        except StoreError as exc:
            print(f"neo4j: skipped ({exc})")
    if "sqlite" in results and "neo4j" in results:
        for phase in ("insert", "unchanged", "update"):
            ratio = results["neo4j"][phase] / results["sqlite"][phase]
            print(f"neo4j/sqlite {phase:<10} {ratio:5.2f}x")


if __name__ == "__main__":
    main()
