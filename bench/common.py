"""What every bench script shares: the machine a figure was measured on (the same code runs
2-5x slower on this shared 2-core machine when it is busy or in a slow phase), sizes like
"100k", the generated sample data (made once per size, seed and generator version), the
process's peak RSS, appending a section to bench/RESULTS.md, and pyinstrument profiles
(--profile DIR)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import platform
import re
import resource
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.host_speed import host_speed_ms

if TYPE_CHECKING:
    from loaders.generate import GenerateResult

def machine_facts() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"system": f"{platform.system()} {platform.machine()}", "cpu": cpu, "cores": os.cpu_count(),
            "memory_gib": round(mem, 1), "load_avg": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "host_speed_ms": host_speed_ms()}


def machine() -> str:
    """One line for RESULTS.md: system, cores, CPU, memory, Python, the load at the time and
    the host's speed then (`bench.host_speed`: figures are comparable only at similar speeds)."""
    f = machine_facts()
    return (f"{f['system']}, {f['cores']} cores ({f['cpu']}), {f['memory_gib']:.0f} GiB, Python {f['python']}, "
            f"load average {f['load_avg']}, host yardstick {f['host_speed_ms']} ms")


RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
_RESULTS_HEADER = "# Benchmark results\n\nAppended by the scripts in bench/; newest last.\n"


def parse_size(text: str) -> int:
    """Record counts as people write them: "10k", "1M", "250000"."""
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def git_commit() -> str | None:
    """The checkout's short commit, with "+changes" when tracked files differ from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")


def size_label(n: int) -> str:
    """The other way round: 10000 -> "10k", 1000000 -> "1M"."""
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# Generated files per (records, seed, generator source), reused by every script of a suite
# run and by later runs: at 1M, generating costs about a minute each time. Git-ignored.
DATA_CACHE = Path(os.environ.get("BENCH_DATA_CACHE") or Path(__file__).resolve().parent / ".data")


def sample_data(dest: Path, records: int, seed: int = 42) -> tuple["GenerateResult", bool]:
    """The generator's files for `records` and `seed`, copied into `dest` (which scripts may
    change, e.g. to hold rows out), and whether they came from the cache. The cache key holds
    a hash of loaders/generate.py, so a changed generator never serves stale data."""
    from loaders import generate as gen

    version = hashlib.blake2b(Path(gen.__file__).read_bytes(), digest_size=6).hexdigest()
    cached = DATA_CACHE / f"{records}-{seed}-{version}"
    meta = cached / "result.pickle"
    hit = meta.exists()
    if not hit:
        building = cached.with_name(cached.name + f".tmp{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        result = gen.generate(building, records=records, seed=seed)
        (building / "result.pickle").write_bytes(pickle.dumps(result))
        if cached.exists() and not meta.exists():  # left incomplete by hand
            shutil.rmtree(cached)
        try:
            building.rename(cached)  # complete or absent: a killed run leaves only a .tmp folder
        except OSError:  # a run alongside made it meanwhile; the same generator and seed made both
            shutil.rmtree(building, ignore_errors=True)
    result = pickle.loads(meta.read_bytes())
    shutil.copytree(cached, dest, ignore=shutil.ignore_patterns("result.pickle"), dirs_exist_ok=True)
    moved = {k: dest / p.name for k, p in result.files.items()}
    return dataclasses.replace(result, out_dir=dest, files=moved, truth=dest / result.truth.name,
                               accounts_file=dest / result.accounts_file.name), hit


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def append_results(lines: list[str]) -> Path:
    """Append one section to bench/RESULTS.md (creating it with its header if missing)."""
    if not RESULTS.exists():
        RESULTS.write_text(_RESULTS_HEADER, encoding="utf-8")
    with RESULTS.open("a", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return RESULTS


# -- profiles (pyinstrument, from the bench extra) -------------------------------------

PROFILE_INTERVAL = 0.001  # seconds between samples
PROFILE_TOP = 25  # frames listed by own time in the text summary


def start_profiler() -> Any:
    """A started pyinstrument Profiler for this thread (pyinstrument samples only the thread
    that starts it)."""
    try:
        from pyinstrument import Profiler
    except ImportError:  # pragma: no cover - depends on the environment
        raise SystemExit("--profile needs pyinstrument: pip install -e '.[bench]'") from None
    profiler = Profiler(interval=PROFILE_INTERVAL, async_mode="disabled")
    profiler.start()
    return profiler


def own_times(session: Any) -> list[tuple[float, str]]:
    """(own seconds, "function  file:line") for every function in the session's raw call tree,
    most first: time sampled in the function itself, not in what it called."""
    own: dict[str, float] = {}
    stack = [session.root_frame()]
    while stack:
        frame = stack.pop()
        if frame is None:
            continue
        children = list(frame.children)
        stack.extend(c for c in children if not c.is_synthetic)
        if frame.is_synthetic:
            continue
        t = frame.time - sum(c.time for c in children if not c.is_synthetic)
        where = f"{frame.file_path_short}:{frame.line_no}" if frame.line_no else (frame.file_path_short or "?")
        key = f"{frame.class_name + '.' if frame.class_name else ''}{frame.function}  {where}"
        own[key] = own.get(key, 0.0) + t
    return sorted(((t, k) for k, t in own.items()), reverse=True)


def write_profile(session: Any, stem: Path, title: str) -> str:
    """Write `stem`.html (pyinstrument's interactive call tree / timeline) and `stem`.txt (the
    functions with the most own time, then the call tree without frames under 1%). Returns
    the text. `session`: a pyinstrument Session (Profiler.stop() or Session.combine)."""
    from pyinstrument import __version__
    from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer

    stem.parent.mkdir(parents=True, exist_ok=True)
    html = stem.with_suffix(".html")
    html.write_text(HTMLRenderer().render(session), encoding="utf-8")
    total = session.duration or 1.0
    top = [f"{t:8.3f} s {t / total:6.1%}  {name}" for t, name in own_times(session)[:PROFILE_TOP]]
    # the console rendering: a banner, "Profile at ...", then the tree from its first timed line
    tree = ConsoleRenderer(unicode=False, color=False).render(session).splitlines()
    start = next((i for i, line in enumerate(tree) if re.match(r"\d", line)), len(tree))
    tree_lines = [line for line in tree[start:] if line.strip()]
    text = "\n".join([
        f"# {title}",
        f"# pyinstrument {__version__}, one sample per {PROFILE_INTERVAL * 1000:g} ms of this thread; "
        f"{session.duration:.1f} s wall, {session.cpu_time:.1f} s CPU, {session.sample_count:,} samples; "
        f"interactive view: {html.name}",
        f"# {machine()}; commit {git_commit() or '?'}",
        "",
        f"Top {PROFILE_TOP} functions by own time (seconds, share of wall time):",
        *top,
        "",
        "Call tree (frames under 1% of the total hidden; library internals collapsed):",
        *tree_lines,
        "",
    ])
    stem.with_suffix(".txt").write_text(text, encoding="utf-8")
    return text


@contextmanager
def profiled(stem: Path | None, title: str) -> Iterator[None]:
    """Profile the block on this thread with pyinstrument when `stem` is set (else do nothing)
    and write its reports with `write_profile`."""
    if stem is None:
        yield
        return
    profiler = start_profiler()
    try:
        yield
    finally:
        session = profiler.stop()
    write_profile(session, stem, title)


def top_frames(text: str) -> str:
    """The header and the own-time list of a `write_profile` text (what a script prints)."""
    return text.split("\n\nCall tree", 1)[0]
