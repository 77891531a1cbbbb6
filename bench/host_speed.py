"""How fast this host runs Python right now: milliseconds of CPU for one fixed workload.

The same benchmark on this shared 2-core machine can take twice as long an hour later with
nothing else running (no steal time shows; the CPU itself gets slower). A figure is only
comparable with another measured at the same host speed, so every bench script puts this
yardstick in its machine line (`bench.common.machine`) and the suite measures it at the
start and at the end. The workload is loader-like (see `_workload`) but plain Python and
standard-library C, independent of the project's own code, so making the project faster
never moves the yardstick. Lower is faster. A first, smaller loop that stayed in the CPU's
caches moved less than half as much as a load did between a slow and a fast hour; this one
was chosen because it moves with the loads (see bench/RESULTS.md).

    python -m bench.host_speed              # one figure
    python -m bench.host_speed --watch 10   # one every 10 s, to see the host's phase change
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import time

_WORD = re.compile(r"[a-z]+")
ROUNDS = 3  # the best of these is the figure: interference only ever adds time
ROWS = 6_000  # of each of the two made-up files: about 0.1 s a round


def _files(rows: int) -> tuple[str, str]:
    """A CSV and a JSON-lines text shaped like the sample sources (ids, names, emails, phones,
    companies, timestamps; nested traits), the same every time."""
    lines = ["id,first,last,email,phone,company,created"]
    for i in range(rows):
        lines.append(f"C-{i:07d},Jane{i % 97},Doe-Smith{i % 13},J.Doe{i}@Example{i % 503}.COM,"
                     f"+44 20 7946 {i % 10_000:04d},Acme {i % 211} Ltd.,"
                     f"2021-05-{1 + i % 28:02d}T12:{i % 60:02d}:09.000+0000")
    events = (json.dumps({"messageId": f"m-{i}", "traits": {"email": f"u{i}@x{i % 41}.io", "name": f"Ann {i % 89} Lee"},
                          "tags": [str(i), str(i % 7)]}) for i in range(rows))
    return "\n".join(lines), "\n".join(events)


_CSV, _JSONL = _files(ROWS)


def _encoded(rec: dict[str, object]) -> tuple[dict[str, object], str, str]:
    text = json.dumps(rec, sort_keys=True)
    return rec, text, hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _workload() -> int:
    """What a loader does to a row, in plain Python and standard-library C: parse CSV and
    JSON lines, normalize a few values, encode the result as JSON and hash it, and keep every
    result (so memory grows as in a load). Returns a checksum so nothing is optimised away."""
    out = []
    for row in csv.DictReader(io.StringIO(_CSV)):
        name = " ".join(f"{row['first']} {row['last']}".lower().replace("-", " ").split())
        local, _, domain = row["email"].lower().partition("@")
        out.append(_encoded({
            "id": row["id"], "name": name, "email": f"{local}@{domain}",
            "phone": "".join(ch for ch in row["phone"] if ch.isdigit()), "words": sorted(set(_WORD.findall(name))),
            "company": row["company"].lower().removesuffix(" ltd."), "created": row["created"][:19],
        }))
    for line in _JSONL.split("\n"):
        event = json.loads(line)
        traits = event["traits"]
        out.append(_encoded({"id": event["messageId"], "email": traits["email"].lower(),
                             "name": " ".join(traits["name"].lower().split()), "tags": event["tags"]}))
    return len(out) ^ int(out[-1][2], 16) ^ int(out[0][2], 16)


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
