"""`entitystore export` and `entitystore show` on both stores: files read back with the
expected row counts and golden values; bad input is one line and exit 2."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from graphstore.cli import app
from graphstore.export import ExportError, export, require_pyarrow
from graphstore.golden import golden_of_ids
from graphstore.model import ACCOUNT, PERSON
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from graphstore.survivorship import load_survivorship

CONFIG = load_survivorship()
runner = CliRunner()


def _read(path: Path, fmt: str) -> list[dict]:
    if fmt == "parquet":
        return pq.read_table(path).to_pylist()
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def resolved(store: GraphStore, tmp_path: Path) -> tuple[GraphStore, str]:
    """1,200 generated records, resolved, plus one steward link that merges two persons
    (so there is an alias). Returns the store and the merged-away id."""
    from loaders.generate import generate
    from loaders.load import load_folder

    generate(tmp_path / "data", records=1200, seed=5)
    load_folder(store, tmp_path / "data")
    resolver = Resolver(store)
    resolver.resolve(full=True)
    persons = store.list_entities(kind=PERSON, limit=2)
    a, b = (store.members_of([p.id])[p.id][0] for p in persons)
    before = store.entity_of_records([a, b])
    resolver.link(a, b, actor="steward@test", reason="same person, confirmed by phone")
    after = store.entity_of_records([a, b])
    assert after[a] == after[b]
    gone = ({before[a], before[b]} - {after[a]}).pop()
    return store, gone


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_export_files_read_back_with_expected_counts(resolved: tuple[GraphStore, str], tmp_path: Path, fmt: str) -> None:
    store, gone = resolved
    counts = store.counts()
    summary = export(store, tmp_path / "out", fmt, CONFIG, page_size=150)  # several pages
    files = {t: tmp_path / "out" / f"{t}.{fmt}" for t in ("entities", "memberships", "hierarchy", "aliases")}
    assert summary.files == files
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.endswith(".partial")]
    rows = {t: _read(p, fmt) for t, p in files.items()}
    assert {t: len(r) for t, r in rows.items()} == summary.rows
    assert len(rows["entities"]) == counts["persons"] + counts["accounts"]
    assert len(rows["memberships"]) == counts["records"] == counts["member_of"]
    assert len(rows["hierarchy"]) == counts["belongs_to"] + counts["child_of"]
    assert len(rows["aliases"]) == counts["aliases"] >= 1
    assert {"alias_id": gone, "entity_id": store.resolve_ids([gone])[gone]} in rows["aliases"]

    memberships = {r["record_key"]: r["entity_id"] for r in rows["memberships"]}
    assert memberships == store.all_memberships()
    assert all(r["record_key"] == f"{r['source']}:{r['source_id']}" for r in rows["memberships"])
    belongs = {r["child_id"]: r["parent_id"] for r in rows["hierarchy"] if r["relation"] == "belongs_to"}
    person_ids = [r["entity_id"] for r in rows["entities"] if r["kind"] == PERSON]
    assert belongs == store.accounts_of(person_ids)

    by_id = {r["entity_id"]: r for r in rows["entities"]}
    sample = person_ids[:40] + [r["entity_id"] for r in rows["entities"] if r["kind"] == ACCOUNT][:10]
    golden = golden_of_ids(store, sample, CONFIG)
    for eid in sample:
        row, g = by_id[eid], golden[eid]
        assert row["golden_version"] == CONFIG.config_version
        for name in CONFIG.attribute_names:
            v = g.attributes.get(name)
            assert (row[name] or None) == (v.value if v else None), (eid, name)
            assert (row[f"{name}_source"] or None) == (v.source if v else None)
        prov = row["golden"] if fmt == "jsonl" else json.loads(row["golden"])
        assert prov == {k: v.to_dict() for k, v in g.attributes.items()}
        assert int(row["member_records"]) == (len(store.members_of([eid])[eid]) if row["kind"] == PERSON
                                              else sum(len(m) for m in store.members_of(
                                                  store.persons_of([eid])[eid]).values()))


def test_export_of_an_empty_store_writes_headers_only(store: GraphStore, tmp_path: Path) -> None:
    summary = export(store, tmp_path / "empty", "csv", CONFIG)
    assert summary.rows == {"entities": 0, "memberships": 0, "hierarchy": 0, "aliases": 0}
    header = (tmp_path / "empty" / "entities.csv").read_text("utf-8").splitlines()
    assert len(header) == 1 and header[0].startswith("entity_id,kind,display_name")
    assert pq.read_table(export(store, tmp_path / "p", "parquet", CONFIG).files["entities"]).num_rows == 0


def test_export_refuses_bad_format_and_a_file_as_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="--format: expected one of csv, jsonl, parquet, got 'xlsx'"):
        export(None, tmp_path, "xlsx", CONFIG)  # type: ignore[arg-type]  # refused before the store is used
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(ExportError, match="exists and is not a directory"):
        export(None, f, "csv", CONFIG)  # type: ignore[arg-type]


def test_parquet_without_pyarrow_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # what `import pyarrow` sees when it is missing
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ExportError, match=r"needs pyarrow.*pip install"):
        require_pyarrow()


# -- the CLI -----------------------------------------------------------------------------------
def _uri(store: GraphStore) -> str:
    return store.info().uri


def test_cli_show_follows_aliases_and_prints_golden_provenance(resolved: tuple[GraphStore, str]) -> None:
    store, gone = resolved
    live = store.resolve_ids([gone])[gone]
    result = runner.invoke(app, ["--store", _uri(store), "show", gone], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"{gone} was merged into {live}" in out
    g = golden_of_ids(store, [live], CONFIG)[live]
    assert "golden attributes" in out and "member records by source" in out and "recent history" in out
    for name, v in g.attributes.items():
        assert name in out and v.value in out and v.rule in out
    assert "merged" in out  # the link's merge event is in the recent history
    acct = store.accounts_of([live]).get(live)
    assert (f"account: {acct}" if acct else "account: none") in out


def test_cli_show_account(resolved: tuple[GraphStore, str]) -> None:
    store, _ = resolved
    acct = store.list_entities(kind=ACCOUNT, limit=1)[0]
    result = runner.invoke(app, ["--store", _uri(store), "show", acct.id], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "records of its persons by source" in result.output and "persons:" in result.output


def test_cli_show_unknown_id_is_one_line_exit_2(store: GraphStore) -> None:
    result = runner.invoke(app, ["--store", _uri(store), "show", "P-DOESNOTEXIST"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "unknown entity id 'P-DOESNOTEXIST'" in lines[0]
    assert "Traceback" not in result.output


def test_cli_export_and_bad_input(resolved: tuple[GraphStore, str], tmp_path: Path) -> None:
    store, _ = resolved
    out = tmp_path / "bi"
    result = runner.invoke(app, ["--store", _uri(store), "export", "--format", "jsonl", str(out)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    counts = store.counts()
    assert len((out / "memberships.jsonl").read_text("utf-8").splitlines()) == counts["records"]
    bad = runner.invoke(app, ["--store", _uri(store), "export", "--format", "xml", str(out)], env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and "--format: expected one of csv, jsonl, parquet, got 'xml'" in bad.output
    surv = tmp_path / "bad.yaml"
    surv.write_text("version: '1'\nperson: {name: {order: [oldest]}}\naccount: {name: {}}\n", "utf-8")
    bad = runner.invoke(app, ["--store", _uri(store), "export", "--survivorship", str(surv), str(out)],
                        env={"COLUMNS": "200"})
    assert bad.exit_code == 2 and f"{surv}: field person.name.order.0: expected" in bad.output
    assert "Traceback" not in bad.output
