"""One command for the benchmark suite: python -m bench [--quick] [--store ...] [--sizes ...] [--no-splink]

For each size and store, runs the existing scripts as subprocesses (each with its own
figures written as JSON): bench/load_throughput.py, bench/resolution.py,
bench/api_resolve.py (SQLite only) and bench/splink_peer.py (Splink beside the
project's own full resolution and its accuracy; store-independent, run once per size).
Writes everything to bench/results/<date>.json and appends a readable section to
bench/RESULTS.md (machine, versions, date, table, commands to reproduce).

    python -m bench --quick --store sqlite      # 10k records: figures produced + accuracy bars
    python -m bench --quick --store both --no-write   # what CI (.ci/run) runs after the tests
    python -m bench --sizes 10k,100k --store both
    python -m bench --no-splink                 # the project's accuracy without Splink

Each section carries the host's speed at the suite's start and end (bench/host_speed.py):
this machine's speed halves for an hour at a time, and timings compare only across runs
whose yardsticks are close.

--quick checks only that every figure was produced and that the accuracy bars hold
(persons, pairwise: precision >= 0.99, recall >= 0.95); it never judges timings. Any
run exits non-zero when a script failed or (with --quick) a check did not hold.
Neo4j runs use $NEO4J_URI and WIPE that database: development databases only.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.common import RESULTS, append_results, git_commit, machine_facts, parse_size, size_label
from bench.host_speed import host_speed_ms

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS_DIR = BENCH / "results"
PRECISION_BAR = 0.99
RECALL_BAR = 0.95


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("entitystore", "neo4j", "splink", "duckdb", "rapidfuzz", "networkx"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    commit = git_commit()
    if commit:
        out["commit"] = commit
    return out


def run_script(argv: list[str], json_out: Path | None, log: list[dict[str, Any]]) -> tuple[Any, str]:
    """Run bench/<script> with this interpreter; echo and keep its output; return its JSON figures."""
    cmd = [sys.executable, *argv]
    shown = "python " + " ".join(argv)
    print(f"\n$ {shown}", flush=True)
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        print("  | " + line, end="", flush=True)
    rc = proc.wait()
    entry = {"command": shown, "exit": rc, "seconds": round(time.perf_counter() - t, 1)}
    log.append(entry)
    if rc != 0:
        print(f"  ! exit {rc}", flush=True)
        return None, "".join(lines)
    data = None
    if json_out is not None and json_out.exists():
        data = json.loads(json_out.read_text("utf-8"))
    return data, "".join(lines)


_API_LINE = re.compile(
    r"^(?P<label>.+?)\s+(?P<requests>[\d,]+) req\s+(?P<throughput>[\d,]+) req/s\s+p50\s+(?P<p50_ms>[\d.]+) ms\s+"
    r"p90\s+(?P<p90_ms>[\d.]+) ms\s+p99\s+(?P<p99_ms>[\d.]+) ms\s+max\s+(?P<max_ms>[\d.]+) ms\s+errors (?P<errors>\d+)",
    re.M,
)


def parse_api_output(text: str) -> dict[str, Any] | None:
    """Figures from api_resolve.py's printed lines (used when it has no --json flag)."""
    out: dict[str, Any] = {}
    for m in _API_LINE.finditer(text):
        label = m["label"].strip()
        key = "many" if label.startswith("resolveMany") else "max" if "@ max" in label else "rate"
        out[key] = {"label": label, **{k: float(m[k].replace(",", "")) for k in
                                       ("requests", "throughput", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors")}}
    return out or None


def script_has_flag(script: str, flag: str) -> bool:
    proc = subprocess.run([sys.executable, str(BENCH / script), "--help"], cwd=ROOT, capture_output=True, text=True)
    return flag in proc.stdout


def check(report: dict[str, Any], quick: bool, splink: bool, api: bool) -> list[str]:
    """What is wrong with a suite report: a script that failed, a figure that is missing, and
    (with `quick`) a persons accuracy bar missed. Timings are never judged. Adds the
    accuracy checks to `report["checks"]`."""
    failures: list[str] = []
    for c in report["commands"]:
        if c["exit"] != 0:
            failures.append(f"{c['command']}: exit {c['exit']}")
    for r in report["runs"]:
        for part in ("load", "resolution") + (("api",) if r["store"] == "sqlite" and api else ()):
            if not r.get(part):
                failures.append(f"{size_label(r['records'])} {r['store']}: no {part} figures")
    for label, acc in report.get("accuracy", {}).items():
        if not acc or "project" not in acc:
            failures.append(f"{label}: no accuracy figures")
            continue
        if splink and "splink" not in acc:
            failures.append(f"{label}: no Splink figures")
        p = acc["project"]
        ok_p, ok_r = p["precision"] >= PRECISION_BAR, p["recall"] >= RECALL_BAR
        report["checks"].append({"size": label, "precision": p["precision"], "recall": p["recall"],
                                 "precision_ok": ok_p, "recall_ok": ok_r})
        if quick and not (ok_p and ok_r):
            failures.append(f"{label}: accuracy bar missed (persons pairwise precision {p['precision']:.4f} "
                            f">= {PRECISION_BAR}? recall {p['recall']:.4f} >= {RECALL_BAR}?)")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="10k records; check figures + accuracy bars, not timings")
    ap.add_argument("--store", choices=("sqlite", "neo4j", "both"), default="sqlite")
    ap.add_argument("--sizes", default="10k,100k", help="comma-separated record counts (default 10k,100k)")
    ap.add_argument("--no-splink", action="store_true", help="skip Splink (the project's accuracy is still measured)")
    ap.add_argument("--no-api", action="store_true", help="skip the API benchmark")
    ap.add_argument("--duckdb-memory-limit", default="", metavar="SIZE",
                    help="passed to splink_peer.py: DuckDB's memory_limit for Splink (e.g. 8GB; at 1M with a"
                         " Neo4j beside it, Splink's default of 80%% of RAM was OOM-killed)")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/ nor bench/RESULTS.md")
    args = ap.parse_args(argv)

    sizes = [10_000] if args.quick else [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    stores = ["sqlite", "neo4j"] if args.store == "both" else [args.store]
    started = datetime.now(timezone.utc)
    report: dict[str, Any] = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine_facts(), "versions": versions(),
        "argv": ["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)],
        "quick": args.quick, "sizes": sizes, "stores": stores, "runs": [], "commands": [], "checks": [],
    }
    api_json = script_has_flag("api_resolve.py", "--json") if not args.no_api else False

    with tempfile.TemporaryDirectory(prefix="bench-suite-") as tmp_s:
        tmp = Path(tmp_s)
        for n in sizes:
            label = size_label(n)
            for kind in stores:
                run: dict[str, Any] = {"records": n, "store": kind}
                out = tmp / f"load-{label}-{kind}.json"
                data, _ = run_script(["bench/load_throughput.py", "--records", str(n), "--store", kind,
                                      "--no-save", "--json", str(out)], out, report["commands"])
                run["load"] = (data or {}).get("stores", {}).get(kind)
                out = tmp / f"resolution-{label}-{kind}.json"
                inc = 20 if args.quick else 200
                data, _ = run_script(["bench/resolution.py", "--sizes", str(n), "--store", kind, "--incremental",
                                      str(inc), "--no-write", "--json", str(out)], out, report["commands"])
                run["resolution"] = data[0] if data else None
                if kind == "sqlite" and not args.no_api:
                    out = tmp / f"api-{label}.json"
                    cmd = ["bench/api_resolve.py", "--store", "sqlite", "--records", str(n), "--no-results"]
                    if args.quick:
                        cmd += ["--duration", "3", "--many-requests", "5"]
                    if api_json:
                        cmd += ["--json", str(out)]
                    data, text = run_script(cmd, out if api_json else None, report["commands"])
                    run["api"] = data if api_json else (parse_api_output(text) if report["commands"][-1]["exit"] == 0
                                                        else None)
                report["runs"].append(run)
            # accuracy (and Splink beside it): once per size, on a temporary SQLite store
            out = tmp / f"splink-{label}.json"
            cmd = ["bench/splink_peer.py", "--records", str(n), "--no-write", "--json", str(out)]
            if args.no_splink:
                cmd.append("--no-splink")
            elif args.duckdb_memory_limit:
                cmd += ["--duckdb-memory-limit", args.duckdb_memory_limit]
            data, _ = run_script(cmd, out, report["commands"])
            report.setdefault("accuracy", {})[label] = data

    report["host_speed_end_ms"] = host_speed_ms()
    failures = check(report, quick=args.quick, splink=not args.no_splink, api=not args.no_api)
    report["failures"] = failures
    report["elapsed_s"] = round((datetime.now(timezone.utc) - started).total_seconds(), 1)

    print("\n" + "\n".join(table(report)), flush=True)
    print(f"\n{host_speed_line(report)}", flush=True)
    if not args.no_write:
        RESULTS_DIR.mkdir(exist_ok=True)
        path = RESULTS_DIR / f"{started.strftime('%Y-%m-%d')}.json"
        if path.exists():
            path = RESULTS_DIR / f"{started.strftime('%Y-%m-%d-%H%M%S')}.json"
        path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        write_markdown(report, path)
        print(f"wrote {path.relative_to(ROOT)} and appended to {RESULTS.relative_to(ROOT)}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print("all figures produced" + (" and the accuracy bars hold" if args.quick else ""))
    return 0


def _f(x: Any, fmt: str) -> str:
    return format(x, fmt) if isinstance(x, (int, float)) else "—"


def table(report: dict[str, Any]) -> list[str]:
    lines = [
        "| records | store | load rec/s | reload rec/s | full resolve s | resolve peak RSS MiB | incremental p50 ms "
        "| API resolve max req/s | API p99 ms @ max | resolveMany(1000) p50 ms |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["runs"]:
        load, res, api = r.get("load") or {}, r.get("resolution") or {}, r.get("api") or {}
        resolve, inc = res.get("resolve") or {}, res.get("incremental") or {}
        mx, many = api.get("max") or {}, api.get("many") or {}
        lines.append(
            f"| {r['records']:,} | {r['store']} | {_f(load.get('load'), ',.0f')} | {_f(load.get('reload'), ',.0f')} | "
            f"{_f(resolve.get('seconds'), '.1f')} | {_f(resolve.get('peak_rss_mib'), ',.0f')} | "
            f"{_f(inc.get('p50_ms'), '.1f')} | {_f(mx.get('throughput'), ',.0f')} | {_f(mx.get('p99_ms'), '.1f')} | "
            f"{_f(many.get('p50_ms'), '.1f')} |"
        )
    lines += ["", "| records | system | seconds | peak RSS MiB | precision | recall | F1 |",
              "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    for label, acc in (report.get("accuracy") or {}).items():
        if not acc:
            continue
        splink_name = "Splink (DuckDB" + (f", model {acc['splink']['model']}" if (acc.get("splink") or {}).get("model") else "") + ")"
        for name, part in (("entitystore full resolution", acc.get("project")), (splink_name, acc.get("splink"))):
            if part:
                lines.append(f"| {acc['rows']:,} | {name} | {_f(part['seconds'], '.1f')} | "
                             f"{_f(part['peak_rss_mib'], ',.0f')} | {part['precision']:.4f} | {part['recall']:.4f} | "
                             f"{part['f1']:.4f} |")
        if acc.get("ratios"):
            ratios.append(f"{label}: time x{acc['ratios']['time']:.2f}, peak RSS x{acc['ratios']['peak_rss']:.2f}")
    if ratios:
        lines += ["", "entitystore / Splink: " + "; ".join(ratios) + "."]
    return lines


def host_speed_line(report: dict[str, Any]) -> str:
    """The host's speed at the suite's start and end: timings of two runs compare only when
    their yardsticks are close (this machine's has doubled within an hour)."""
    return (f"Host yardstick (`python -m bench.host_speed`, CPU ms, lower is faster): "
            f"{report['machine']['host_speed_ms']} at the start, {report['host_speed_end_ms']} at the end.")


_JSON_FLAG = re.compile(r" --json \S+")


def write_markdown(report: dict[str, Any], json_path: Path) -> None:
    m, v = report["machine"], report["versions"]
    lines = [
        f"\n## Suite (python -m bench{' --quick' if report['quick'] else ''}) — {report['date']}\n",
        f"Machine: {m['system']}, {m['cores']} cores ({m['cpu']}), {m['memory_gib']:.0f} GiB, load avg "
        f"{m['load_avg']} at start. {host_speed_line(report)}",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".",
        f"Figures: `{json_path.relative_to(ROOT)}`. "
        + ("Accuracy bars (persons, pairwise): " + "; ".join(
            f"{c['size']} P {c['precision']:.4f} {'ok' if c['precision_ok'] else 'MISSED'}, "
            f"R {c['recall']:.4f} {'ok' if c['recall_ok'] else 'MISSED'}" for c in report["checks"]) + "."
           if report["checks"] else ""),
        "",
        *table(report),
        "",
        "Reproduce: `" + " ".join(report["argv"]) + "`, or one at a time:",
        "",
        *("    " + _JSON_FLAG.sub("", c["command"]) for c in report["commands"]),
    ]
    if report["failures"]:
        lines += ["", "Failures: " + "; ".join(report["failures"]) + "."]
    append_results(lines)


if __name__ == "__main__":
    raise SystemExit(main())
