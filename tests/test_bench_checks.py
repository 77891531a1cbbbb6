"""`python -m bench --quick` judges figures and accuracy, never timings: the rules that
decide whether a suite run passes, on made-up reports; what a --profile run writes; and the
sample data the scripts share."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.__main__ import PRECISION_BAR, RECALL_BAR, check  # noqa: E402


def report(**accuracy: Any) -> dict[str, Any]:
    return {
        "commands": [{"command": "python bench/load_throughput.py", "exit": 0}],
        "runs": [{"records": 10_000, "store": "sqlite", "load": {"rps": 1.0}, "resolution": {"s": 1.0},
                  "api": {"p99": 1.0}}],
        "accuracy": accuracy or {"10k": {"project": {"precision": 0.998, "recall": 0.97}, "splink": {"f1": 0.8}}},
        "checks": [],
    }


def test_a_complete_accurate_report_passes_whatever_its_timings() -> None:
    r = report()
    r["runs"][0]["resolution"] = {"s": 10_000.0}  # absurdly slow is still not a failure
    assert check(r, quick=True, splink=True, api=True) == []
    assert r["checks"] == [{"size": "10k", "precision": 0.998, "recall": 0.97, "precision_ok": True, "recall_ok": True}]


def test_accuracy_bars_fail_quick_runs_only() -> None:
    low = {"10k": {"project": {"precision": PRECISION_BAR - 0.001, "recall": RECALL_BAR}, "splink": {}}}
    assert check(report(**low), quick=False, splink=True, api=True) == []
    failures = check(report(**low), quick=True, splink=True, api=True)
    assert len(failures) == 1 and "accuracy bar missed" in failures[0]


def test_missing_figures_and_failed_scripts_are_failures() -> None:
    r = report()
    r["commands"].append({"command": "python bench/api_resolve.py", "exit": 1})
    r["runs"][0]["api"] = None
    r["accuracy"]["10k"].pop("splink")
    failures = check(r, quick=True, splink=True, api=True)
    assert any("exit 1" in f for f in failures)
    assert any("no api figures" in f for f in failures)
    assert any("no Splink figures" in f for f in failures)
    assert check(r, quick=True, splink=False, api=False) == ["python bench/api_resolve.py: exit 1"]


def test_a_profile_names_where_the_time_went(tmp_path: Path) -> None:
    pytest.importorskip("pyinstrument")
    from bench.common import profiled, top_frames

    def spin_for_a_while() -> int:
        total = 0
        for i in range(300_000):
            total += i * i
        return total

    with profiled(tmp_path / "spin", "a made-up run"):
        spin_for_a_while()
    text = (tmp_path / "spin.txt").read_text("utf-8")
    assert (tmp_path / "spin.html").stat().st_size > 0
    summary = top_frames(text)
    assert summary.startswith("# a made-up run") and "spin_for_a_while" in summary
    assert "Call tree" in text and "Call tree" not in summary
    with profiled(None, "not profiled"):  # no directory: no profiler, no files
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spin.html", "spin.txt"]


def test_sample_data_is_generated_once_and_handed_out_as_a_private_copy(tmp_path: Path, monkeypatch) -> None:
    """Suite scripts reuse one generation per size and seed; a script that edits its copy
    (resolution.py holds rows out of crm.csv) must not change what the next one gets."""
    from bench import common
    from loaders.generate import generate

    monkeypatch.setattr(common, "DATA_CACHE", tmp_path / "cache")
    first, hit1 = common.sample_data(tmp_path / "a", 200, seed=7)
    (tmp_path / "a" / "crm.csv").write_text("edited\n", encoding="utf-8")
    second, hit2 = common.sample_data(tmp_path / "b", 200, seed=7)
    fresh = generate(tmp_path / "fresh", records=200, seed=7)

    assert (hit1, hit2) == (False, True)
    assert second.out_dir == tmp_path / "b" and second.truth == tmp_path / "b" / "truth.csv"
    assert second.counts == fresh.counts and second.records == first.records == 200
    for source, path in fresh.files.items():
        assert second.files[source].read_bytes() == path.read_bytes(), source
    assert second.truth.read_bytes() == fresh.truth.read_bytes()
    _, other_seed_hit = common.sample_data(tmp_path / "c", 200, seed=8)
    assert other_seed_hit is False


@pytest.mark.neo4j
def test_neo4j_write_profile_prints_server_cpu_per_variant(tmp_path: Path) -> None:
    """The write-profile script runs end to end against the real server: each variant gets a
    line of server CPU per record, split by thread, relative to the base statement."""
    import os
    import re
    import subprocess

    from conftest import make_store

    make_store("neo4j", tmp_path).close()  # reachable (else skip locally, fail under CI)
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "bench.neo4j_write_profile", "--records", "1500", "--variants",
         "base,no_body,upsert,upsert_bulk_2w_disjoint", "--repeat", "1"],
        cwd=root, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = {m[1]: (float(m[2]), m[3]) for m in re.finditer(r"^(\w+)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+([\d.]+)x",
                                                             done.stdout, re.M)}
    assert set(table) == {"base", "no_body", "upsert", "upsert_bulk_2w_disjoint"}, done.stdout
    assert table["base"][1] == "1.00" and table["upsert"][1] == "1.00", done.stdout
    assert all(cpu > 0 for cpu, _ in table.values()), done.stdout
    # the store-path variants also time each batch's phases, as their writer threads see them
    phases = re.findall(r"per batch \(median ms\): before the statements (\d+), in them (\d+), commit (\d+);"
                        r" Bolt workers on CPU ([\d.]+) cores", done.stdout)
    assert len(phases) == 2 and all(int(inside) > 0 for _, inside, _, _ in phases), done.stdout


def test_every_machine_line_carries_the_host_yardstick() -> None:
    """Timings compare only at similar host speeds, so each script's machine line and the
    suite's report say what the yardstick read; the workload is fixed (same checksum every
    time), so the figure moves with the host and never with the project's code."""
    import re

    from bench import host_speed
    from bench.common import machine, machine_facts

    assert host_speed._workload() == host_speed._workload()
    assert host_speed.host_speed_ms(rounds=1) > 0
    assert isinstance(machine_facts()["host_speed_ms"], float)
    assert re.search(r", host yardstick \d+(\.\d)? ms$", machine())


def test_host_speed_command_prints_a_figure_and_refuses_a_bad_interval() -> None:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    ok = subprocess.run([sys.executable, "-m", "bench.host_speed"], cwd=root, capture_output=True, text=True,
                        timeout=60)
    assert ok.returncode == 0 and "host yardstick" in ok.stdout and ok.stdout.strip().endswith(" ms")
    bad = subprocess.run([sys.executable, "-m", "bench.host_speed", "--watch", "0"], cwd=root, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--watch: expected a positive number of seconds, got 0" in bad.stderr
    assert "Traceback" not in bad.stderr
