"""`entitystore generate | load | quarantine`: summaries that add up, one-line errors
with exit code 2, and nothing stored when a file is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli_support import one_error_line, run, store_uri
from conftest import make_store
from graphstore.store import GraphStore
from loaders.generate import Noise, generate
from loaders.mapping import sample_mapping_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_store(store_kind: str, tmp_path: Path) -> tuple[str, GraphStore]:
    """A fresh store and the --store URI the CLI reaches it by."""
    store = make_store(store_kind, tmp_path)
    uri = store_uri(store_kind, tmp_path)
    return uri, store


def test_generate_writes_the_sources(tmp_path: Path) -> None:
    code, out, _ = run("sqlite:///unused.db", "generate", "--records", "300", "--seed", "3", str(tmp_path / "out"))
    assert code == 0
    for name in ("crm.csv", "billing.csv", "support.csv", "product.jsonl", "marketing.jsonl", "truth.csv"):
        assert (tmp_path / "out" / name).is_file()
    assert "300 rows" in out


def test_generate_refuses_too_few_records(tmp_path: Path) -> None:
    code, _, err = run("sqlite:///unused.db", "generate", "--records", "3", str(tmp_path))
    assert code == 2
    assert one_error_line(err) == "error: --records: expected at least 10, got 3"


def test_load_folder_summary_adds_up_then_rerun_is_unchanged(cli_store: tuple[str, GraphStore], tmp_path: Path) -> None:
    uri, store = cli_store
    g = generate(tmp_path / "d", records=400, seed=2, noise=Noise(bad_row_rate=0.02))
    code, out, _ = run(uri, "load", "--folder", str(tmp_path / "d"))
    assert code == 0, out
    bad = sum(g.bad_rows.values())
    total = next(ln for ln in out.splitlines() if "total" in ln)
    assert [c.strip() for c in total.split("│")[3:8]] == ["400", f"{400 - bad}", "0", "0", f"{bad}"]
    assert sum(store.source_counts().values()) == 400 - bad

    code, out, _ = run(uri, "load", "--folder", str(tmp_path / "d"))
    total = next(ln for ln in out.splitlines() if "total" in ln)
    assert [c.strip() for c in total.split("│")[3:8]] == ["400", "0", "0", f"{400 - bad}", f"{bad}"]

    code, out, _ = run(uri, "quarantine", "--source", "crm")
    assert code == 0
    assert out.count("crm.csv") == g.bad_rows["crm"] > 0
    code, out, _ = run(uri, "quarantine", "--source", "nosuch")
    assert code == 0 and "no quarantined rows for source 'nosuch'" in out


def test_load_with_mapping_file_or_sample_name(cli_store: tuple[str, GraphStore], tmp_path: Path) -> None:
    uri, store = cli_store
    g = generate(tmp_path / "d", records=200, seed=6)
    code, out, _ = run(uri, "load", "--source", str(sample_mapping_path("support")), str(g.files["support"]))
    assert code == 0, out
    code, out, _ = run(uri, "load", "--source", "billing", str(g.files["billing"]), "--batch-size", "7", "--workers", "0")
    assert code == 0, out
    assert store.source_counts() == {"support": g.counts["support"], "billing": g.counts["billing"]}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["load"], "error: --source: expected a mapping YAML or a sample source name (or use --folder DIR)"),
        (["load", "--source", "crm"], "error: FILE: expected at least one file to load with --source"),
        (["load", "--source", "nope.yaml", "x.csv"], "error: nope.yaml: mapping file not found"),
        (["load", "--source", "crm", "missing.csv"], "error: missing.csv: no such file"),
        (["load", "--source", "crm", "x.csv", "--batch-size", "0"], "error: --batch-size: expected a positive number, got 0"),
        (["load", "--folder", "no-such-dir"], "error: --folder no-such-dir: not a folder"),
        (["quarantine", "--limit", "-1"], "error: --limit: expected 0 or more, got -1"),
    ],
)
def test_argument_errors_are_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], expected: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(f"sqlite:///{tmp_path / 's.db'}", *args)
    assert code == 2
    assert one_error_line(err).startswith(expected)


def test_bad_mapping_file_is_one_line(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text("name: shop\nformat: xml\nid_column: id\n", encoding="utf-8")
    (tmp_path / "f.csv").write_text("id\n1\n", encoding="utf-8")
    code, _, err = run(f"sqlite:///{tmp_path / 's.db'}", "load", "--source", str(m), str(tmp_path / "f.csv"))
    assert code == 2
    assert one_error_line(err) == f"error: {m}: format: expected 'csv', 'jsonl' or 'parquet' (got 'xml')"


def test_malformed_file_among_several_stores_nothing(cli_store: tuple[str, GraphStore], tmp_path: Path) -> None:
    uri, store = cli_store
    g = generate(tmp_path / "d", records=200, seed=6)
    broken = tmp_path / "crm_semicolons.csv"
    broken.write_text(g.files["crm"].read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    code, _, err = run(uri, "load", "--source", "crm", str(g.files["crm"]), str(broken))
    assert code == 2
    line = one_error_line(err)
    assert f"{broken}: line 1: the header has no ',' delimiter but looks ';'-delimited" in line
    assert store.source_counts() == {} and store.quarantined() == []  # the good file was not loaded either


def test_entrypoint_exit_code_and_no_traceback(tmp_path: Path) -> None:
    """The installed command, as a user runs it: exit 2 and one line on stderr."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"Id,FirstName\n1,\xff\n")
    proc = subprocess.run(
        [sys.executable, "-m", "graphstore.cli", "--store", f"sqlite:///{tmp_path / 's.db'}", "load", "--source", "crm", str(bad)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == (
        f"error: {bad}: line 2, column 3: bytes ff are not valid utf-8 (invalid start byte); nothing was loaded from this file"
    )
    assert proc.stdout == ""
