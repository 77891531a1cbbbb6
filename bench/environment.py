"""What machine a figure was measured on: every bench script stamps its results with this,
since the same code runs 2-5x slower on this shared 2-core machine when it is busy."""

from __future__ import annotations

import os
import platform
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
