from __future__ import annotations

from pathlib import Path

import pytest

from graphstore.evaluate import TruthFileError, read_truth, score


def test_perfect_and_imperfect_scores() -> None:
    truth = {"a": "1", "b": "1", "c": "1", "d": "2"}
    perfect = score({"a": "x", "b": "x", "c": "x", "d": "y"}, truth)
    assert (perfect.pairwise_precision, perfect.pairwise_recall, perfect.bcubed_f1) == (1.0, 1.0, 1.0)
    # one record split off: 1 of 3 true pairs found, no false pairs
    split = score({"a": "x", "b": "x", "c": "z", "d": "y"}, truth)
    assert split.pairwise_precision == 1.0 and split.pairwise_recall == pytest.approx(1 / 3)
    # everything merged: 3 true pairs among 6 predicted
    lumped = score({k: "x" for k in truth}, truth)
    assert lumped.pairwise_precision == pytest.approx(0.5) and lumped.pairwise_recall == 1.0
    assert lumped.bcubed_precision == pytest.approx((3 * 3 / 4 + 1 / 4) / 4)
    # unassigned records are singletons
    assert score({}, {"a": "1", "b": "2"}).pairwise_precision == 1.0


def test_truth_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "truth.csv"
    bad.write_text("source,source_id,person\ncrm,1,p1\n")
    with pytest.raises(TruthFileError, match=r"truth.csv: line 1: missing column\(s\) person_id, account_id"):
        read_truth(bad)
    bad.write_text("source,source_id,person_id,account_id\ncrm,1,p1,a1\n,2,p2,a1\n")
    with pytest.raises(TruthFileError, match="line 3: empty source"):
        read_truth(bad)
    good = tmp_path / "ok.csv"
    good.write_text("source,source_id,person_id,account_id\ncrm,1,p1,\n")
    persons, accounts = read_truth(good)
    assert persons == {"crm:1": "p1"} and accounts == {"crm:1": "~crm:1"}
