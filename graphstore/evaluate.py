"""Accuracy against labelled truth: pairwise and B-cubed precision/recall.

Truth file format (what `entitystore generate` writes as truth.csv, and what users can
bring for a labelled sample): a CSV with a header and the columns
`source,source_id,person_id,account_id`. Records in the store but not in the truth file
are left out of the scores; truth rows whose record is not in the store are counted
and reported. A record without a predicted person or account counts as a singleton.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .model import record_key
from .store import GraphStore

TRUTH_COLUMNS = ("source", "source_id", "person_id", "account_id")


class TruthFileError(ValueError):
    """A truth file we cannot read; the message names the file, line and column."""


@dataclass(frozen=True)
class Scores:
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    true_pairs: int
    predicted_pairs: int
    records: int


@dataclass(frozen=True)
class Evaluation:
    persons: Scores
    accounts: Scores
    missing: int


def read_truth(path: str | Path) -> tuple[dict[str, str], dict[str, str]]:
    """record key -> true person id, record key -> true account id (empty ids are singletons)."""
    p = Path(path)
    persons: dict[str, str] = {}
    accounts: dict[str, str] = {}
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in TRUTH_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise TruthFileError(f"{p}: line 1: missing column(s) {', '.join(missing)}; expected {','.join(TRUTH_COLUMNS)}")
            for line, row in enumerate(reader, start=2):
                if not row["source"] or not row["source_id"]:
                    raise TruthFileError(f"{p}: line {line}: empty source or source_id")
                key = record_key(row["source"], row["source_id"])
                persons[key] = row["person_id"] or f"~{key}"
                accounts[key] = row["account_id"] or f"~{key}"
    except OSError as exc:
        raise TruthFileError(f"{p}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise TruthFileError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return persons, accounts


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def score(predicted: Mapping[str, str], truth: Mapping[str, str]) -> Scores:
    """Compare two labelings of the same records (keys of `truth`)."""
    keys = list(truth)
    pred = {k: predicted.get(k) or f"~{k}" for k in keys}
    joint: Counter[tuple[str, str]] = Counter((pred[k], truth[k]) for k in keys)
    psize: Counter[str] = Counter(pred.values())
    tsize: Counter[str] = Counter(truth.values())
    tp = sum(_pairs(n) for n in joint.values())
    pp = sum(_pairs(n) for n in psize.values())
    tt = sum(_pairs(n) for n in tsize.values())
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    bp = br = 0.0
    for (pc, tc), n in joint.items():
        bp += n * n / psize[pc]
        br += n * n / tsize[tc]
    total = len(keys) or 1
    bp, br = bp / total, br / total
    bf = 2 * bp * br / (bp + br) if bp + br else 0.0
    return Scores(precision, recall, f1, bp, br, bf, tt, pp, len(keys))


def evaluate(store: GraphStore, truth_path: str | Path) -> Evaluation:
    true_person, true_account = read_truth(truth_path)
    present = set(store.record_hashes(true_person))
    missing = len(true_person) - len(present)
    true_person = {k: v for k, v in true_person.items() if k in present}
    true_account = {k: v for k, v in true_account.items() if k in present}
    person_of = store.entity_of_records(present)
    acct_of_person = store.accounts_of(set(person_of.values()))
    account_of = {k: acct_of_person[p] for k, p in person_of.items() if p in acct_of_person}
    return Evaluation(score(person_of, true_person), score(account_of, true_account), missing)


def clusters_of(mapping: Mapping[str, str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for k, v in mapping.items():
        out[v].add(k)
    return out
