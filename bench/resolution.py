"""Resolution at scale: full-run time and peak RSS, and the latency of one new record.

For each size and store: generate sample data, hold out the last N CRM rows, load the
rest, run a full resolution, then load + resolve the held-out rows one at a time (each a
real one-row file through the loader, then an incremental run). Every stage runs in its
own process, so each peak RSS is that stage's own. Prints figures and appends them to
bench/RESULTS.md; asserts nothing.

    python bench/resolution.py                            # 100k, SQLite
    python bench/resolution.py --sizes 100k,1M --store sqlite
    python bench/resolution.py --sizes 100k --store neo4j   # $NEO4J_URI, WIPED first
    python bench/resolution.py --sizes 100k --profile out/profiles   # + pyinstrument of the full run

--profile DIR runs the full resolution under pyinstrument (bench extra) and writes
DIR/resolve-<size>-<store>.html (interactive call tree) and .txt (top frames by own time,
then the call tree); the run's time and peak RSS then include the profiler's overhead.

Aims (issue 4): 1M records resolved in <= 120 s within 4 GiB RSS embedded; one new
record loaded + resolved in <= 50 ms median.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    RESULTS,
    append_results,
    machine,
    parse_size,
    peak_rss_mib,
    profiled,
    sample_data,
    size_label,
    top_frames,
)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


# -- stages, each run in a fresh process ------------------------------------------------


def stage_load(uri: str, folder: str) -> dict[str, Any]:
    from graphstore.connect import open_store
    from loaders.load import load_folder

    with open_store(uri) as store:
        store.wipe()
        t = time.perf_counter()
        summaries = load_folder(store, folder)
        elapsed = time.perf_counter() - t
    rows = sum(s.read for s in summaries.values())
    return {"rows": rows, "seconds": elapsed, "records_per_s": rows / elapsed, "peak_rss_mib": peak_rss_mib()}


def stage_resolve(uri: str, profile: str | None) -> dict[str, Any]:
    """The full run; under pyinstrument when `profile` (a path without suffix) is given."""
    from graphstore.connect import open_store
    from graphstore.resolution import Resolver

    with open_store(uri) as store:
        title = f"full resolution, {store.info().backend}: bench/resolution.py" if profile else ""
        t = time.perf_counter()
        with profiled(Path(profile) if profile else None, title):
            summary = Resolver(store).resolve(full=True)
            elapsed = time.perf_counter() - t  # before the reports are written
    return {
        "records": summary.records, "persons": summary.persons, "accounts": summary.accounts,
        "seconds": elapsed, "stages": summary.stages, "peak_rss_mib": peak_rss_mib(),
    }


def stage_incremental(uri: str, header: str, rows: list[str], workdir: str) -> dict[str, Any]:
    from graphstore.connect import open_store
    from graphstore.resolution import Resolver
    from loaders.load import load_file
    from loaders.mapping import sample_mapping

    mapping = sample_mapping("crm")
    latencies: list[float] = []
    load_part: list[float] = []
    with open_store(uri) as store:
        resolver = Resolver(store)
        for i, row in enumerate(rows):
            path = Path(workdir) / f"one-{i}.csv"
            path.write_text(header + row, encoding="utf-8")
            t = time.perf_counter()
            load_file(store, mapping, path, workers=0)
            t_loaded = time.perf_counter()
            resolver.resolve()
            done = time.perf_counter()
            latencies.append((done - t) * 1000)
            load_part.append((t_loaded - t) * 1000)
    return {
        "n": len(latencies), "p50_ms": statistics.median(latencies), "p99_ms": percentile(latencies, 99),
        "load_p50_ms": statistics.median(load_part), "peak_rss_mib": peak_rss_mib(),
    }


def child(argv: list[str]) -> dict[str, Any]:
    """Run one stage in a fresh interpreter and return its JSON result."""
    proc = subprocess.run(
        [sys.executable, __file__, "--stage", *argv], capture_output=True, text=True, cwd=ROOT
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench/resolution.py: stage {argv[0]} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- orchestration -------------------------------------------------------------------


def hold_out(folder: Path, n: int) -> tuple[str, list[str]]:
    """Remove the last `n` data rows of crm.csv; return its header and the removed rows."""
    path = folder / "crm.csv"
    lines = path.read_text("utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    kept, held = body[: len(body) - n], body[len(body) - n :]
    path.write_text(header + "".join(kept), encoding="utf-8")
    return header, held


def run_one(size: int, store_kind: str, incremental: int, profile: Path | None, tmp: Path) -> dict[str, Any]:
    folder = tmp / f"data-{size}"
    if not folder.exists():
        t = time.perf_counter()
        _, cached = sample_data(folder, size)
        print(f"  {'copied cached' if cached else 'generated'} {size:,} records in {time.perf_counter() - t:.1f}s",
              flush=True)
        header, held = hold_out(folder, incremental)
        (folder / "held.json").write_text(json.dumps({"header": header, "rows": held}), encoding="utf-8")
    held_data = json.loads((folder / "held.json").read_text("utf-8"))
    if store_kind == "sqlite":
        uri = f"sqlite:///{tmp / f'bench-{size}.db'}"
        Path(uri[len('sqlite:///'):]).unlink(missing_ok=True)
    else:
        uri = os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")
    out: dict[str, Any] = {"size": size, "store": store_kind}
    out["load"] = child(["load", uri, str(folder)])
    print(f"  load: {out['load']['rows']:,} rows, {out['load']['records_per_s']:,.0f} records/s", flush=True)
    stem = profile / f"resolve-{size_label(size)}-{store_kind}" if profile else None
    out["resolve"] = child(["resolve", uri, str(stem) if stem else ""])
    r = out["resolve"]
    print(f"  full resolution: {r['seconds']:.1f}s, peak RSS {r['peak_rss_mib']:,.0f} MiB, "
          f"{r['persons']:,} persons, {r['accounts']:,} accounts; stages {r['stages']}", flush=True)
    if stem:
        print(top_frames(stem.with_suffix(".txt").read_text("utf-8")), flush=True)
        print(f"  profile: {stem}.txt and {stem}.html", flush=True)
    if incremental:
        work = tmp / f"inc-{size}-{store_kind}"
        work.mkdir(exist_ok=True)
        spec = tmp / f"held-{size}.json"
        spec.write_text(json.dumps(held_data), encoding="utf-8")
        out["incremental"] = child(["incremental", uri, str(spec), str(work)])
        i = out["incremental"]
        print(f"  incremental (load + resolve one record, n={i['n']}): p50 {i['p50_ms']:.1f} ms, "
              f"p99 {i['p99_ms']:.1f} ms (load alone p50 {i['load_p50_ms']:.1f} ms)", flush=True)
    return out


def write_results(results: list[dict[str, Any]], command: str) -> None:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"\n## Resolution — {now}\n",
        f"Machine: {machine()}. Command: `{command}`\n",
        "| records | store | load rec/s | full resolve s | resolve peak RSS MiB | incremental p50 ms | p99 ms |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        inc = r.get("incremental") or {}
        lines.append(
            f"| {r['size']:,} | {r['store']} | {r['load']['records_per_s']:,.0f} | {r['resolve']['seconds']:.1f} | "
            f"{r['resolve']['peak_rss_mib']:,.0f} | {inc.get('p50_ms', float('nan')):.1f} | {inc.get('p99_ms', float('nan')):.1f} |"
        )
    slowest = [(r["size"], r["store"], max(r["resolve"]["stages"].items(), key=lambda kv: kv[1])) for r in results]
    lines.append("")
    lines.extend(f"Slowest stage at {s:,} on {k}: {st[0]} ({st[1]:.1f}s)." for s, k, st in slowest)
    append_results(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--stage":
        stage, uri, *rest = sys.argv[2:]
        if stage == "load":
            result = stage_load(uri, rest[0])
        elif stage == "resolve":
            result = stage_resolve(uri, rest[0] or None)
        else:
            spec = json.loads(Path(rest[0]).read_text("utf-8"))
            result = stage_incremental(uri, spec["header"], spec["rows"], rest[1])
        print(json.dumps(result))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100k", help="comma-separated record counts, e.g. 20k,100k,1M")
    ap.add_argument("--store", choices=["sqlite", "neo4j", "both"], default="sqlite")
    ap.add_argument("--incremental", type=int, default=200, help="held-out records loaded one at a time")
    ap.add_argument("--profile", metavar="DIR", type=Path,
                    help="run the full resolution under pyinstrument; write an HTML and a text report to DIR")
    ap.add_argument("--no-write", action="store_true", help="print only; do not append to bench/RESULTS.md")
    ap.add_argument("--json", metavar="OUT", help="also write the figures as JSON to OUT")
    args = ap.parse_args()
    stores = ["sqlite", "neo4j"] if args.store == "both" else [args.store]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-resolution-") as tmp:
        for size in (parse_size(s) for s in args.sizes.split(",")):
            for kind in stores:
                print(f"{size:,} records on {kind}:", flush=True)
                results.append(run_one(size, kind, args.incremental,
                                           args.profile.resolve() if args.profile else None, Path(tmp)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    if not args.no_write:
        write_results(results, "python bench/resolution.py " + " ".join(sys.argv[1:]))
        print(f"appended to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
