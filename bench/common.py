"""What every bench script shares: the machine a figure was measured on (the same code runs
2-5x slower on this shared 2-core machine when it is busy), sizes like "100k", the process's
peak RSS, and appending a section to bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path
from typing import Any


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
            "python": platform.python_version()}


def machine() -> str:
    """One line for RESULTS.md: system, cores, CPU, memory, Python and the load at the time."""
    f = machine_facts()
    return (f"{f['system']}, {f['cores']} cores ({f['cpu']}), {f['memory_gib']:.0f} GiB, Python {f['python']}, "
            f"load average {f['load_avg']}")


RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
_RESULTS_HEADER = "# Benchmark results\n\nAppended by the scripts in bench/; newest last.\n"


def parse_size(text: str) -> int:
    """Record counts as people write them: "10k", "1M", "250000"."""
    t = text.strip().lower()
    mult = {"k": 1_000, "m": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


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
