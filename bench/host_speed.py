"""How fast this host runs Python right now: milliseconds of CPU for one fixed workload.

The same benchmark on this shared 2-core machine can take twice as long an hour later with
nothing else running (no steal time shows; the CPU itself gets slower). A figure is only
comparable with another measured at the same host speed, so every bench script puts this
yardstick in its machine line (`bench.common.machine`) and the suite measures it at the
start and at the end. The workload is plain Python and standard-library C (dicts, string
methods, a regular expression, json, hashlib), independent of the project's own code, so
making the project faster never moves the yardstick. Lower is faster.

    python -m bench.host_speed              # one figure
    python -m bench.host_speed --watch 10   # one every 10 s, to see the host's phase change
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import time

_WORD = re.compile(r"[a-z]+")
ROUNDS = 5  # the best of these is the figure: interference only ever adds time


def _workload() -> int:
    """A loader-like mix of work on 4,000 made-up rows; returns a checksum so nothing is
    optimised away."""
    acc = 0
    for i in range(4_000):
        row = {"id": f"C-{i:06d}", "name": f"  Jane{i % 97} Q. Doe-Smith{i % 13} ", "email": f"J.Doe{i}@Example.COM",
               "phone": f"+44 20 7946 {i % 10_000:04d}", "tags": [str(i), str(i * 7 % 101)]}
        name = " ".join(row["name"].strip().lower().replace(".", " ").split())
        local, _, domain = row["email"].lower().partition("@")
        digits = "".join(ch for ch in row["phone"] if ch.isdigit())
        words = sorted(set(_WORD.findall(name)))
        text = json.dumps({"name": name, "email": f"{local}@{domain}", "phone": digits, "words": words,
                           "tags": row["tags"]}, sort_keys=True)
        acc ^= int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")
    return acc


def host_speed_ms(rounds: int = ROUNDS) -> float:
    """CPU milliseconds of the workload on this thread, the best of `rounds`."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.thread_time()
        _workload()
        best = min(best, time.thread_time() - t0)
    return round(best * 1000, 1)


def main() -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.host_speed", description=__doc__.splitlines()[0])
    ap.add_argument("--watch", type=float, metavar="SECONDS", help="measure again every SECONDS until interrupted")
    args = ap.parse_args()
    if args.watch is not None and args.watch <= 0:
        ap.error(f"--watch: expected a positive number of seconds, got {args.watch:g}")
    try:
        while True:
            print(f"{time.strftime('%H:%M:%S')} host yardstick {host_speed_ms()} ms", flush=True)
            if args.watch is None:
                return
            time.sleep(args.watch)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
