"""Pair scoring: turn two records into a decision with its evidence items.

The score is the sum of the weights of the evidence items that count. Every shared
identifier is listed, including guarded hubs (counted=False, with the reason), so an
explanation can say both why a pair merged and what was deliberately ignored.
Comparisons flagged `needs_corroboration` count only next to another counting item:
similar names alone never merge two records.
"""

from __future__ import annotations

from collections.abc import Mapping

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from .model import MATCH, NEAR_MISS, EvidenceItem, MatchEdge
from .rules import Comparison, Rules
from .views import RecordView


def similarity(method: str, left: str, right: str) -> float:
    """Similarity in [0, 1] by a named rapidfuzz method."""
    if method == "exact":
        return 1.0 if left == right else 0.0
    if method == "jaro_winkler":
        return JaroWinkler.normalized_similarity(left, right)
    if method == "token_set_ratio":
        return fuzz.token_set_ratio(left, right) / 100.0
    if method == "ratio":
        return fuzz.ratio(left, right) / 100.0
    raise ValueError(f"unknown comparison method {method!r}")


def _compare(c: Comparison, a: RecordView, b: RecordView) -> EvidenceItem | None:
    for f in c.fields:
        left, right = a.fields.get(f), b.fields.get(f)
        if left and right:
            sim = similarity(c.method, left, right)
            if sim >= c.at:
                return EvidenceItem(kind=c.name, weight=c.weight, left=left, right=right, similarity=round(sim, 4))
            return None
    return None


def evaluate_pair(
    a: RecordView, b: RecordView, guards: Mapping[str, str], rules: Rules
) -> tuple[float, list[EvidenceItem], bool]:
    """Score and evidence items of one pair, and whether a person-level signal counted.

    Used for decisions and, unchanged, by explanations, so "why not" reports exactly
    the arithmetic the resolver did.
    """
    items: list[EvidenceItem] = []
    total = 0.0
    person_signal = False
    shared = set(a.idents).intersection(b.idents)
    for ik in sorted(shared):
        kind, _, value = ik.partition(":")
        rule = rules.evidence.get(kind)
        if rule is None:
            continue
        reason = guards.get(ik)
        if reason:
            items.append(EvidenceItem(kind=kind, weight=0.0, value=value, counted=False, note=reason))
            continue
        items.append(EvidenceItem(kind=kind, weight=rule.weight, value=value))
        total += rule.weight
        person_signal |= rule.level == "person"

    fuzzy: list[tuple[Comparison, EvidenceItem]] = []
    for c in rules.comparisons:
        item = _compare(c, a, b)
        if item is not None:
            fuzzy.append((c, item))
    counted_other = sum(1 for i in items if i.counted)
    for c, item in fuzzy:
        others = counted_other + len(fuzzy) - 1
        if c.needs_corroboration and others == 0:
            items.append(
                EvidenceItem(
                    kind=item.kind, weight=0.0, left=item.left, right=item.right, similarity=item.similarity,
                    counted=False, note="needs corroborating evidence",
                )
            )
            continue
        items.append(item)
        total += item.weight
        person_signal = True
    return round(total, 6), items, person_signal


def score_pair(
    a: RecordView,
    b: RecordView,
    guards: Mapping[str, str],
    rules: Rules,
    run_id: str | None = None,
) -> MatchEdge | None:
    """The decision for one candidate pair: a match, a near miss, or None (nothing to keep).

    A near miss is kept only when some person-level signal (a person identifier or an
    attribute comparison) counted, so colleagues who merely share a company domain do
    not flood the steward's review queue.
    """
    total, items, person_signal = evaluate_pair(a, b, guards, rules)
    if total >= rules.threshold:
        decision = MATCH
    elif total >= rules.near_miss_floor and person_signal and total > 0:
        decision = NEAR_MISS
    else:
        return None
    return MatchEdge(a.key, b.key, total, rules.rule_version, items, decision, run_id)
