"""How fast does the GraphQL API answer `resolve`? Prints figures; asserts nothing.

Three processes, as in production: this script prepares a store (the sample generator,
the loaders, a full resolution run), starts the server with `entitystore serve` in a
subprocess, and drives it from a separate load-generator process (this same file run
with `drive`: asyncio, a minimal HTTP/1.1 client on keep-alive connections). Figures:

- `resolve` at a fixed offered rate (open loop, default 300 req/s): latency is measured
  from the moment each request was *due*, so a server that falls behind shows it
  (no coordinated omission);
- `resolve` at max throughput (closed loop, N connections kept busy);
- `resolveMany` of 1,000 keys, one request at a time.

    python bench/api_resolve.py                          # 20k records, embedded store
    python bench/api_resolve.py --records 50000 --rate 300 --duration 20
    python bench/api_resolve.py --store neo4j            # $NEO4J_URI: WIPED first, dev databases only

Results are appended to bench/RESULTS.md (date, machine, figures).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
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

from bench.common import append_results, machine, sample_data  # noqa: E402

RESOLVE = ("query($s: String!, $id: String!) { resolve(source: $s, sourceId: $id) "
           "{ key person { id } account { id } } }")
RESOLVE_MANY = "query($k: [RecordKeyInput!]!) { resolveMany(keys: $k) { key person { id } account { id } } }"


# -- the load generator (its own process) ------------------------------------------------
def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    i = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[i]


def _summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, Any]:
    ms = sorted(x * 1000 for x in latencies)
    return {
        "requests": len(ms), "errors": errors, "elapsed_s": elapsed,
        "throughput": len(ms) / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(ms, 50), "p90_ms": _percentile(ms, 90), "p99_ms": _percentile(ms, 99),
        "max_ms": ms[-1] if ms else float("nan"), "mean_ms": statistics.fmean(ms) if ms else float("nan"),
    }


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just enough of the protocol for JSON
    POSTs. A generic client (httpx) spends more CPU per request than the server under
    test, on a small machine that would measure the client; this one stays out of the way."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        self._head = "".join(f"{k}: {v}\r\n" for k, v in {"Host": f"{host}:{port}", **headers}.items())
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        data = json.dumps(body).encode()
        self._writer.write(
            (f"POST {path} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\n"
             f"Content-Length: {len(data)}\r\n\r\n").encode() + data
        )
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = next(int(v) for k, _, v in (ln.partition(":") for ln in lines[1:]) if k.lower() == "content-length")
        return status, await self._reader.readexactly(length)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


async def _post(conn: Connection, body: dict[str, Any]) -> bool:
    status, payload = await conn.post("/graphql", body)
    return status == 200 and b'"errors"' not in payload


async def _drive(args: argparse.Namespace) -> dict[str, Any]:
    from urllib.parse import urlsplit

    keys: list[list[str]] = json.loads(Path(args.keys_file).read_text())
    rng = random.Random(7)
    url = urlsplit(args.url)
    conns = [Connection(url.hostname or "127.0.0.1", url.port or 80, {"Authorization": f"Bearer {args.key}"})
             for _ in range(args.connections)]

    def resolve_body() -> dict[str, Any]:
        s, i = rng.choice(keys)
        return {"query": RESOLVE, "variables": {"s": s, "id": i}}

    # warm up: connections open, caches and code paths hot
    warm_until = time.perf_counter() + args.warmup
    while time.perf_counter() < warm_until:
        await asyncio.gather(*(_post(c, resolve_body()) for c in conns))

    latencies: list[float] = []
    errors = 0
    cpu_before = cpu_seconds(args.server_pid) if args.server_pid else None
    if args.mode == "rate":
        # Open loop (like wrk2): request i is due at start + i/rate whatever happened
        # before; an idle connection takes the next due request. Latency counts from due.
        n = int(args.rate * args.duration)
        start = time.perf_counter() + 0.05
        due = iter(start + i / args.rate for i in range(n))

        async def worker(conn: Connection) -> None:
            nonlocal errors
            for t_due in due:
                delay = t_due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                ok = await _post(conn, resolve_body())
                latencies.append(time.perf_counter() - t_due)
                errors += not ok

        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.perf_counter() - start
    elif args.mode == "max":
        stop = time.perf_counter() + args.duration
        start = time.perf_counter()

        async def closed(conn: Connection) -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                t = time.perf_counter()
                ok = await _post(conn, resolve_body())
                latencies.append(time.perf_counter() - t)
                errors += not ok

        await asyncio.gather(*(closed(c) for c in conns))
        elapsed = time.perf_counter() - start
    else:  # many: resolveMany of --batch keys, one request at a time
        start = time.perf_counter()
        for _ in range(args.requests):
            batch = rng.sample(keys, min(args.batch, len(keys)))
            body = {"query": RESOLVE_MANY, "variables": {"k": [{"source": s, "sourceId": i} for s, i in batch]}}
            t = time.perf_counter()
            ok = await _post(conns[0], body)
            latencies.append(time.perf_counter() - t)
            errors += not ok
        elapsed = time.perf_counter() - start
    cpu_after = cpu_seconds(args.server_pid) if args.server_pid else None
    for c in conns:
        c.close()
    result = _summary(latencies, errors, elapsed)
    if cpu_before is not None and cpu_after is not None and latencies:
        result["server_cpu_ms_per_req"] = (cpu_after - cpu_before) * 1000 / len(latencies)
    return result


def drive_main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(prog="api_resolve.py drive")
    p.add_argument("--url", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--keys-file", required=True)
    p.add_argument("--mode", choices=("rate", "max", "many"), required=True)
    p.add_argument("--rate", type=float, default=300.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--requests", type=int, default=30)
    p.add_argument("--server-pid", type=int, default=0, help="report this process's CPU time per request")
    args = p.parse_args(argv)
    print(json.dumps(asyncio.run(_drive(args))))


# -- the orchestrator -----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(uri: str, records: int, work: Path) -> tuple[str, Path, dict[str, Any]]:
    """Generate, load and resolve; return an app key, a file of record keys, and facts."""
    from api.auth import create_key
    from graphstore.connect import open_store
    from graphstore.resolution import Resolver
    from loaders.load import load_folder

    facts: dict[str, Any] = {}
    t = time.perf_counter()
    gen, _ = sample_data(work / "data", records)
    facts["generated_rows"] = gen.records
    store = open_store(uri)
    try:
        store.wipe()
        t_load = time.perf_counter()
        load_folder(store, work / "data")
        facts["load_s"] = time.perf_counter() - t_load
        t_res = time.perf_counter()
        Resolver(store).resolve(full=True)
        facts["resolve_s"] = time.perf_counter() - t_res
        counts = store.counts()
        facts["records"] = counts.get("records", 0)
        facts["entities"] = counts.get("entities", 0)
        keys = [[r.source, r.source_id] for r in store.iter_records()]
        key, _ = create_key(store, "bench", "app")
        facts["backend"] = f"{store.info().backend} {store.info().version}"
    finally:
        store.close()
    keys_file = work / "keys.json"
    keys_file.write_text(json.dumps(keys))
    facts["prepare_s"] = time.perf_counter() - t
    return key, keys_file, facts


def start_server(uri: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    exe = shutil.which("entitystore", path=str(Path(sys.executable).parent)) or "entitystore"
    cmd = [exe, "--store", uri, "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"server not ready after 60s; see {log}")


def run_driver(url: str, key: str, keys_file: Path, mode: str, server_pid: int, **opts: Any) -> dict[str, Any]:
    """Run one phase in the load-generator process. Besides latencies it reports the
    server's CPU time per request over the measured part, a figure that, unlike wall
    time, holds up on a machine shared with other work; the load average says how shared."""
    cmd = [sys.executable, __file__, "drive", "--url", url, "--key", key, "--keys-file", str(keys_file),
           "--mode", mode, "--server-pid", str(server_pid)]
    for name, value in opts.items():
        cmd += [f"--{name.replace('_', '-')}", str(value)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["load_avg_1m"] = os.getloadavg()[0]
    return result


def _cpu(r: dict[str, Any]) -> str:
    cpu = r.get("server_cpu_ms_per_req")
    return f"server CPU {cpu:.2f} ms/req" if cpu is not None else "server CPU n/a"


def _line(label: str, r: dict[str, Any]) -> str:
    return (f"{label:<34} {r['requests']:>7,} req  {r['throughput']:>7,.0f} req/s  p50 {r['p50_ms']:6.1f} ms  "
            f"p90 {r['p90_ms']:6.1f} ms  p99 {r['p99_ms']:6.1f} ms  max {r['max_ms']:6.1f} ms  errors {r['errors']}  "
            f"{_cpu(r)}  load {r['load_avg_1m']:.1f}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "drive":
        drive_main(sys.argv[2:])
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--store", choices=("sqlite", "neo4j"), default="sqlite")
    p.add_argument("--records", type=int, default=20_000, help="generated source rows (default 20,000)")
    p.add_argument("--rate", type=float, default=300.0, help="offered rate for the fixed-rate phase (req/s)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per phase (default 20)")
    p.add_argument("--connections", type=int, default=16, help="connections in the max-throughput phase")
    p.add_argument("--many-requests", type=int, default=30, help="resolveMany(1000) requests (default 30)")
    p.add_argument("--no-results", action="store_true", help="do not append to bench/RESULTS.md")
    p.add_argument("--json", type=Path, help="also write the figures to this JSON file (rate, max, many, facts)")
    args = p.parse_args()

    with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
        work = Path(tmp)
        uri = (f"sqlite:///{work / 'bench.db'}" if args.store == "sqlite"
               else os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687"))
        print(f"preparing {args.records:,} generated rows in {args.store} ...", flush=True)
        key, keys_file, facts = prepare(uri, args.records, work)
        print(f"  {facts['records']:,} records, {facts['entities']:,} entities ({facts['backend']}); "
              f"load {facts['load_s']:.1f} s, resolve {facts['resolve_s']:.1f} s", flush=True)
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(uri, port, work / "server.log")
        try:
            pid = server.pid
            fixed = run_driver(url, key, keys_file, "rate", pid, rate=args.rate, duration=args.duration,
                               connections=32)
            print(_line(f"resolve @ {args.rate:g} req/s offered", fixed), flush=True)
            peak = run_driver(url, key, keys_file, "max", pid, duration=args.duration, connections=args.connections)
            print(_line(f"resolve @ max ({args.connections} conns)", peak), flush=True)
            many = run_driver(url, key, keys_file, "many", pid, batch=1000, requests=args.many_requests, warmup=0,
                              connections=1)
            print(_line("resolveMany(1000), sequential", many), flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    if args.json:
        args.json.write_text(json.dumps({"rate": fixed, "max": peak, "many": many, "facts": facts}, indent=2))
    if args.no_results:
        return
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    entry = [
        f"\n## api_resolve: {stamp}\n",
        f"- machine: {machine()}",
        f"- store: {facts['backend']}; {facts['records']:,} records, {facts['entities']:,} entities "
        f"(generator, {args.records:,} rows); server `entitystore serve` (uvicorn, 1 process), "
        "load generator: asyncio keep-alive HTTP/1.1 client in a separate process",
        f"- resolve @ {args.rate:g} req/s offered: p50 {fixed['p50_ms']:.1f} ms, p99 {fixed['p99_ms']:.1f} ms, "
        f"achieved {fixed['throughput']:.0f} req/s, errors {fixed['errors']}; {_cpu(fixed)}; "
        f"load avg {fixed['load_avg_1m']:.1f}",
        f"- resolve @ max ({args.connections} connections): {peak['throughput']:.0f} req/s, "
        f"p50 {peak['p50_ms']:.1f} ms, p99 {peak['p99_ms']:.1f} ms, errors {peak['errors']}; {_cpu(peak)}; "
        f"load avg {peak['load_avg_1m']:.1f}",
        f"- resolveMany(1000): p50 {many['p50_ms']:.1f} ms, p99 {many['p99_ms']:.1f} ms, "
        f"max {many['max_ms']:.1f} ms over {many['requests']} requests, errors {many['errors']}; {_cpu(many)}; "
        f"load avg {many['load_avg_1m']:.1f}",
        "",
    ]
    print(f"appended to {append_results(entry)}")


if __name__ == "__main__":
    main()
