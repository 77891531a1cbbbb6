"""Candidate pairs: who gets compared with whom, without comparing everything.

Two sources of candidates, each counted separately so a run can report them:
- shared person-level identifiers (an email, user ID, phone or device two records
  carry), skipping guarded hubs: these are cheap and strong;
- blocking keys for the fuzzy comparisons (surname + initial + corporate domain, ...),
  skipping blocks larger than `max_block_size`, the same way hubs are skipped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import combinations, product

from .rules import Rules
from .views import RecordView

Pair = tuple[str, str]


def pair(a: str, b: str) -> Pair:
    return (a, b) if a < b else (b, a)


def block_keys(view: RecordView, rules: Rules) -> list[str]:
    """Every blocking key a record falls in (a part with several values gives several keys)."""
    # Keys share parts (every default key starts with last_name, first_initial): each part's
    # values are worked out once per record, and a key stops at its first empty part.
    keys: list[str] = []
    known: dict[str, tuple[str, ...]] = {}
    for bk in rules.blocking.keys:
        parts = []
        for p in bk.parts:
            vals = known.get(p)
            if vals is None:
                vals = known[p] = view.values(p)
            if not vals:
                break
            parts.append(vals)
        else:
            keys.extend(f"{bk.name}|" + "|".join(combo) for combo in product(*parts))
    return keys


@dataclass
class Candidates:
    """Candidate pairs with the sources that proposed them, and what was skipped."""

    pairs: dict[Pair, set[str]] = field(default_factory=dict)
    by_source: Counter[str] = field(default_factory=Counter)
    skipped_hubs: set[str] = field(default_factory=set)
    skipped_blocks: set[str] = field(default_factory=set)

    def add(self, a: str, b: str, source: str) -> None:
        if a == b:
            return
        p = pair(a, b)
        srcs = self.pairs.get(p)
        if srcs is None:
            self.pairs[p] = {source}
            self.by_source[source] += 1
        elif source not in srcs:
            srcs.add(source)
            self.by_source[source] += 1


def identifier_guards(degrees: Mapping[str, int], rules: Rules) -> dict[str, str]:
    """Identifier key -> why it may not merge, for every guarded identifier in `degrees`."""
    out: dict[str, str] = {}
    for ik, degree in degrees.items():
        kind, _, value = ik.partition(":")
        if kind in rules.evidence:
            reason = rules.guard(kind, value, degree)
            if reason:
                out[ik] = reason
    return out


def spread_guards(
    carriers: Mapping[str, Iterable[str]], domains_of: Mapping[str, Iterable[str]], rules: Rules
) -> dict[str, str]:
    """Identifier key -> why it may not group accounts, for account-level identifiers
    whose carrier records span more corporate domains than their kind allows.

    `carriers` must hold every record carrying each identifier (not just a region's), so
    a full and an incremental run reach the same verdict."""
    out: dict[str, str] = {}
    for ik, recs in carriers.items():
        kind = ik.partition(":")[0]
        rule = rules.evidence.get(kind)
        if rule is None or rule.max_domains is None:
            continue
        domains = {d for r in recs for d in domains_of.get(r, ())}
        reason = rules.spread_guard(kind, len(domains))
        if reason:
            out[ik] = reason
    return out


def candidates_among(
    carriers: Mapping[str, Iterable[str]],
    blocks: Mapping[str, Iterable[str]],
    guards: Mapping[str, str],
    rules: Rules,
    focus: set[str] | None = None,
) -> Candidates:
    """Pairs among the records of each usable identifier and block.

    `carriers` maps identifier key -> all records carrying it, `blocks` block key -> all
    its records. With `focus`, only pairs with at least one end in `focus` are kept:
    an incremental run rescoring a few records uses the same function as a full run.
    """
    cands = Candidates()
    person_kinds = rules.person_kinds
    for ik, members in carriers.items():
        kind = ik.partition(":")[0]
        if kind not in person_kinds:
            continue
        if ik in guards:
            cands.skipped_hubs.add(ik)
            continue
        _pairs_into(cands, sorted(members), kind, focus)
    max_block = rules.blocking.max_block_size
    for bk, members in blocks.items():
        members = sorted(members)
        if len(members) > max_block:
            cands.skipped_blocks.add(bk)
            continue
        _pairs_into(cands, members, "block:" + bk.partition("|")[0], focus)
    return cands


def _pairs_into(cands: Candidates, members: list[str], source: str, focus: set[str] | None) -> None:
    if focus is None:
        for a, b in combinations(members, 2):
            cands.add(a, b, source)
        return
    inside = [m for m in members if m in focus]
    for a in inside:
        for b in members:
            cands.add(a, b, source)


def index_views(views: Iterable[RecordView], rules: Rules) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """identifier key -> carriers and block key -> members, built from views in memory."""
    carriers: dict[str, list[str]] = defaultdict(list)
    blocks: dict[str, list[str]] = defaultdict(list)
    for v in views:
        for ik in v.idents:
            carriers[ik].append(v.key)
        for bk in block_keys(v, rules):
            blocks[bk].append(v.key)
    return carriers, blocks
