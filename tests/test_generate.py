"""The sample data generator: deterministic, the promised files and shape, and its
truth file names exactly the rows that load (the rest are meant for quarantine)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from graphstore.store import GraphStore
from loaders.generate import FILES, SOURCES, TRUTH_COLUMNS, Noise, generate
from loaders.load import load_folder

NOISY = Noise(bad_row_rate=0.02)


def _read_truth(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", records=500, seed=1)
    b = generate(tmp_path / "b", records=500, seed=1)
    c = generate(tmp_path / "c", records=500, seed=2)
    for name in [*FILES.values(), "truth.csv", "accounts.csv"]:
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name
    assert (a.out_dir / "crm.csv").read_bytes() != (c.out_dir / "crm.csv").read_bytes()


def test_files_counts_and_truth_shape(tmp_path: Path) -> None:
    g = generate(tmp_path, records=1000, seed=4, noise=NOISY)
    assert set(g.files) == set(SOURCES) and all(p.is_file() for p in g.files.values())
    assert g.records == 1000
    mix = dict(Noise().mix)
    for s in SOURCES:  # the source mix is respected
        assert abs(g.counts[s] - 1000 * mix[s]) <= 2
    truth = _read_truth(g.truth)
    assert tuple(truth[0]) == TRUTH_COLUMNS
    assert len(truth) == g.records - sum(g.bad_rows.values())
    assert sum(g.bad_rows.values()) > 0
    assert len({(t["source"], t["source_id"]) for t in truth}) == len(truth)
    assert {t["source"] for t in truth} == set(SOURCES)
    persons = {t["person_id"] for t in truth}
    assert 1 < len(persons) < len(truth)  # people appear in several sources
    accounts = {t["account_id"] for t in truth}
    with g.accounts_file.open(newline="", encoding="utf-8") as fh:
        known = {row["account_id"] for row in csv.DictReader(fh)}
    assert accounts <= known


def test_jsonl_sources_are_one_object_per_line_but_for_the_broken_ones(tmp_path: Path) -> None:
    g = generate(tmp_path, records=2000, seed=9, noise=NOISY)
    for source in ("product", "marketing"):
        bad = 0
        for line in g.files[source].read_text(encoding="utf-8").splitlines():
            try:
                assert isinstance(json.loads(line), dict)
            except json.JSONDecodeError:
                bad += 1
        assert 0 < bad <= g.bad_rows[source]


def test_too_few_records_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="records must be at least 10, got 5"):
        generate(tmp_path, records=5)


def test_truth_names_exactly_the_rows_that_load(store: GraphStore, tmp_path: Path) -> None:
    g = generate(tmp_path, records=600, seed=12, noise=NOISY)
    summaries = load_folder(store, tmp_path)
    truth = _read_truth(g.truth)
    loaded = {r.key for r in store.iter_records()}
    assert loaded == {f"{t['source']}:{t['source_id']}" for t in truth}
    for source, s in summaries.items():
        assert s.read == g.counts[source]
        assert s.quarantined == g.bad_rows[source]
