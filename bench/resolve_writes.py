"""Where a full resolution run's writes go on SQLite: each store write, timed.

Loads the sample data of one size into a temporary SQLite file once (or takes a loaded
file, --db, which is copied and never changed), then runs a full resolution on a fresh
copy per run, each in its own process, with every GraphStore write method wrapped: calls,
rows, wall and CPU seconds, and the bytes the process wrote (/proc/self/io `wchar`: the
WAL, checkpoints into the database file and the sorter's temporary files; about 4 KiB a
page). `bulk_resolve` shows as its start and the index build at its end. With --compare
DIR the runs alternate between this checkout and the one in DIR (old code against new on
the same host conditions); --digest prints a hash of every table after each run (times and
run ids left out), so two versions can be checked to store the same thing.

    python bench/resolve_writes.py --size 100k --runs 3
    python bench/resolve_writes.py --size 100k --runs 3 --compare /tmp/old-checkout --digest
    python bench/resolve_writes.py --size 1M --db /tmp/loaded-1m.db --compare /tmp/old-checkout

Prints only; writes nothing to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if sys.argv[1:2] != ["--stage"]:  # a stage imports the code of the checkout its PYTHONPATH names first
    sys.path.insert(0, str(ROOT))

WRITES = (
    "replace_all_matches", "replace_all_blocks", "upsert_entities", "set_memberships", "set_account_links",
    "set_parent_links", "delete_entities", "add_aliases", "remove_aliases", "append_events", "close_run",
)
# columns whose values differ from run to run whatever the code does
_MASKED = {"created_at", "updated_at", "at", "run_id"}


def _written() -> int:
    """Bytes this process has passed to write calls so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("wchar:"):
            return int(line.split()[1])
    return 0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


class _Meter:
    """Calls, rows, wall, CPU and bytes written per name; nested store calls count in the outer one."""

    def __init__(self) -> None:
        self.stats: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._depth = 0

    @contextlib.contextmanager
    def measure(self, name: str, rows: int | None = None) -> Iterator[None]:
        if self._depth:
            yield
            return
        self._depth += 1
        t, c, w = time.perf_counter(), _cpu(), _written()
        try:
            yield
        finally:
            self._depth -= 1
            s = self.stats[name]
            s["calls"] += 1
            if rows is not None:
                s["rows"] += rows
            s["wall_s"] += time.perf_counter() - t
            s["cpu_s"] += _cpu() - c
            s["mb_written"] += (_written() - w) / 1e6

    def wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def measured(*args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else None
            with self.measure(name, len(first) if hasattr(first, "__len__") else None):
                return method(*args, **kwargs)

        return measured

    def bracket(self, make: Callable[[], Any]) -> Callable[[], Any]:
        """`bulk_resolve` measured as two parts: its start, and its end (the deferred index builds)."""

        @contextlib.contextmanager
        def measured() -> Iterator[None]:
            cm = make()
            with self.measure("bulk_resolve start"):
                cm.__enter__()
            try:
                yield
            except BaseException as exc:
                if not cm.__exit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                with self.measure("bulk_resolve end"):
                    cm.__exit__(None, None, None)

        return measured


def digest(conn: Any) -> dict[str, str]:
    """Row count and a hash of every table's rows in a fixed order, with times and run ids
    (and the `runs` table, which holds timings) left out."""
    out: dict[str, str] = {}
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'runs' ORDER BY name"
    )]
    for table in tables:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in _MASKED]
        h = hashlib.sha256()
        n = 0
        order = ", ".join(str(i + 1) for i in range(len(cols)))
        for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY {order}"):
            h.update(repr(row).encode())
            n += 1
        out[table] = f"{n}:{h.hexdigest()[:16]}"
    out["indexes"] = ",".join(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name"))
    return out


def stage_run(db: str, want_digest: bool) -> dict[str, Any]:
    """One full run on `db` (a copy made for it), every write measured."""
    import resource

    from graphstore.resolution import Resolver
    from graphstore.sqlite_store import SqliteStore
    from graphstore.store import GraphStore

    meter = _Meter()
    with SqliteStore(db) as store:
        for name in WRITES:
            setattr(store, name, meter.wrap(name, getattr(store, name)))
        own = getattr(type(store), "bulk_resolve", None)
        if own is not None and own is not getattr(GraphStore, "bulk_resolve", None):  # absent in older code
            store.bulk_resolve = meter.bracket(store.bulk_resolve)  # type: ignore[method-assign]
        t, c, w = time.perf_counter(), _cpu(), _written()
        summary = Resolver(store).resolve(full=True)
        out: dict[str, Any] = {
            "wall_s": time.perf_counter() - t, "cpu_s": _cpu() - c, "mb_written": (_written() - w) / 1e6,
            "stages": summary.stages, "persons": summary.persons, "accounts": summary.accounts,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "load_avg": os.getloadavg()[0],
            "writes": {k: dict(v) for k, v in meter.stats.items()},
        }
        if want_digest:
            out["digest"] = digest(store._conn())
    return out


def copy_db(src: Path, dest: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dest}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dest)
    if Path(f"{src}-wal").exists():
        shutil.copyfile(f"{src}-wal", f"{dest}-wal")


def load(size: int, dest: Path, tmp: Path) -> None:
    from bench.common import sample_data
    from graphstore.sqlite_store import SqliteStore
    from loaders.load import load_folder

    folder = tmp / "data"
    sample_data(folder, size)
    with SqliteStore(dest) as store:
        load_folder(store, folder)


def run_child(code: Path, db: Path, want_digest: bool) -> dict[str, Any]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--stage", str(db)] + (["--digest"] if want_digest else [])
    env = {**os.environ, "PYTHONPATH": f"{code}{os.pathsep}{ROOT}"}
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=code, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench/resolve_writes.py: the run with the code in {code} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(label: str, r: dict[str, Any]) -> None:
    print(f"{label}: wall {r['wall_s']:.2f} s, CPU {r['cpu_s']:.2f} s, {r['mb_written']:,.0f} MB written, "
          f"peak RSS {r['peak_rss_mib']:,.0f} MiB, load average {r['load_avg']:.2f}")
    print("  stages: " + ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items()))
    for name, s in sorted(r["writes"].items(), key=lambda kv: -kv[1]["wall_s"]):
        rows = f"{int(s['rows']):>9,} rows" if "rows" in s else " " * 14
        print(f"  {name:<22} {int(s['calls']):>4} calls {rows}  wall {s['wall_s']:6.2f}  CPU {s['cpu_s']:6.2f}"
              f"  {s['mb_written']:8,.1f} MB")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--stage":
        print(json.dumps(stage_run(sys.argv[2], "--digest" in sys.argv)))
        return
    from bench.common import parse_size

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="100k", help="records, e.g. 100k or 1M")
    ap.add_argument("--db", type=Path, help="a SQLite file the size's data is loaded into (copied per run)")
    ap.add_argument("--runs", type=int, default=1, help="runs of each code version")
    ap.add_argument("--compare", type=Path, metavar="DIR", help="another checkout: runs alternate between it and this one")
    ap.add_argument("--digest", action="store_true", help="hash every table after each run")
    args = ap.parse_args()
    codes = [("this", ROOT)] + ([("compare", args.compare.resolve())] if args.compare else [])
    with tempfile.TemporaryDirectory(prefix="resolve-writes-") as tmp_name:
        tmp = Path(tmp_name)
        base = args.db
        if base is None:
            base = tmp / "loaded.db"
            t = time.perf_counter()
            load(parse_size(args.size), base, tmp)
            print(f"loaded {args.size} in {time.perf_counter() - t:.1f} s", flush=True)
        digests: dict[str, dict[str, str]] = {}
        for i in range(args.runs):
            for label, code in (codes if i % 2 == 0 else codes[::-1]):
                work = tmp / "run.db"
                copy_db(base, work)
                r = run_child(code, work, args.digest)
                report(f"run {i + 1}, {label} ({code})", r)
                if "digest" in r:
                    if label in digests and digests[label] != r["digest"]:
                        print(f"  digest differs from this code's earlier run: {r['digest']}")
                    digests.setdefault(label, r["digest"])
        if len(digests) == 2:
            a, b = digests.values()
            print("digests: " + ("equal" if a == b else "DIFFER: " + json.dumps({k: (a.get(k), b.get(k)) for k in a if a.get(k) != b.get(k)})))


if __name__ == "__main__":
    main()
