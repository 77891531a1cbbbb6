"""`entitystore reconcile | exceptions`: tables, CSV/JSON exports that agree with the
report, one-line errors with exit code 2 for bad arguments and bad contracts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from cli_support import one_error_line, run, store_uri
from conftest import make_store
from graphstore.exceptions import KINDS
from graphstore.metrics import load_metrics
from graphstore.reconcile import reconcile
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from test_reconcile import SMALL, SMALL_CONTRACT



@pytest.fixture
def cli_store(store_kind: str, tmp_path: Path) -> tuple[str, GraphStore]:
    store = make_store(store_kind, tmp_path)
    store.upsert_records(SMALL)
    Resolver(store).resolve(full=True)
    uri = store_uri(store_kind, tmp_path)
    return uri, store


def test_reconcile_table_csv_and_json_agree(cli_store: tuple[str, GraphStore], tmp_path: Path) -> None:
    uri, store = cli_store
    contract = tmp_path / "metrics.yaml"
    contract.write_text(SMALL_CONTRACT, encoding="utf-8")
    code, out, _ = run(uri, "reconcile", "--metrics", str(contract))
    assert code == 0
    assert "native count" in out and "duplicates inside source" in out and "= resolved count" in out

    code, out, _ = run(uri, "reconcile", "--metrics", str(contract), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    for source in ("crm", "support", "marketing"):
        mine = {r["line"]: r for r in rows if r["source"] == source}
        steps = [int(r["count"]) for r in mine.values() if r["kind"] == "step"]
        assert int(mine["native"]["count"]) + sum(steps) == int(mine["resolved"]["count"])
    assert {r["count"] for r in rows if r["source"] == "support" and r["line"] == "duplicates"} == {"-1"}

    target = tmp_path / "report.json"
    code, _, _ = run(uri, "reconcile", "--metrics", str(contract), "--format", "json", "--detail", "--out", str(target))
    assert code == 0
    data = json.loads(target.read_text(encoding="utf-8"))
    support = next(b for b in data["bridges"] if b["source"] == "support")
    dup = next(ln for ln in support["lines"] if ln["key"] == "duplicates")
    assert dup["items"][0]["record_keys"] == ["support:1"]

    code, out, _ = run(uri, "reconcile", "--metrics", str(contract), "--format", "csv", "--detail")
    detail = list(csv.DictReader(io.StringIO(out)))
    expected = reconcile(store, load_metrics(contract))
    n = sum(max(1, len(i.record_keys)) for b in expected.bridges for ln in b.lines for i in ln.items)
    assert len(detail) == n


def test_exceptions_summary_and_one_kind(cli_store: tuple[str, GraphStore]) -> None:
    uri, _ = cli_store
    code, out, _ = run(uri, "exceptions", "--as-of", "2025-06-30T00:00:00Z")
    assert code == 0
    for kind in KINDS:
        assert kind in out
    code, out, _ = run(uri, "exceptions", "--kind", "hub_identifiers", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert list(data["exceptions"]) == ["hub_identifiers"]
    assert [i["key"] for i in data["exceptions"]["hub_identifiers"]["items"]] == ["email:support@acme.com"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("exceptions", "--kind", "stale"), "error: option --kind: unknown exception kind 'stale'; expected one of: "
         + ", ".join(KINDS)),
        (("exceptions", "--as-of", "yesterday"), "error: option --as-of: expected an ISO-8601 time"),
        (("exceptions", "--limit", "-1"), "error: option --limit: expected a number >= 0, got -1"),
        (("reconcile", "--format", "xml"), "error: option --format: expected one of table, csv, json, got 'xml'"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(f"sqlite:///{tmp_path / 's.db'}", *args)
    assert code == 2
    assert one_error_line(err).startswith(message)


def test_bad_contract_names_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "metrics.yaml"
    bad.write_text('version: "1"\nreconciliation:\n  crm: {counts: x, unit: {by: record}, compare_to: acount}\n')
    code, _, err = run(f"sqlite:///{tmp_path / 's.db'}", "reconcile", "--metrics", str(bad))
    assert code == 2
    line = one_error_line(err)
    assert str(bad) in line and "reconciliation.crm.compare_to" in line and "'person' or 'account'" in line


def test_unwritable_out_is_one_line(tmp_path: Path) -> None:
    code, _, err = run(f"sqlite:///{tmp_path / 's.db'}", "reconcile", "--format", "csv",
                       "--out", str(tmp_path / "no" / "such" / "dir.csv"))
    assert code == 2
    assert "option --out: cannot write" in one_error_line(err)
