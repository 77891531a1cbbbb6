"""Stable entity IDs across reruns, merges and splits.

Rules (issue #4): unchanged data keeps every ID; when clusters merge, the surviving ID
is the one holding the most records (ties: the oldest, then the smallest), and the
others become aliases that still resolve; when a cluster splits, the largest part keeps
the ID. A brand-new cluster gets an ID derived from its smallest member key, so a
rebuild from scratch on the same data hands out the same IDs again.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


def derived_id(prefix: str, seed: str, attempt: int = 0) -> str:
    raw = seed if attempt == 0 else f"{seed}#{attempt}"
    return prefix + hashlib.blake2b(raw.encode("utf-8"), digest_size=6).hexdigest().upper()


@dataclass
class IdPlan:
    """What a reclustering does to IDs, for the writer and the history."""

    clusters: dict[str, set[str]] = field(default_factory=dict)  # entity id -> members
    created: list[str] = field(default_factory=list)
    merged: dict[str, list[str]] = field(default_factory=dict)  # survivor -> absorbed ids
    split: dict[str, list[str]] = field(default_factory=dict)  # old id -> ids that took part of it
    aliases: dict[str, str] = field(default_factory=dict)  # absorbed id -> survivor
    added: dict[str, list[str]] = field(default_factory=dict)  # entity id -> members new to any entity
    moved: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # entity id -> (member, from id)

    def membership(self) -> dict[str, str]:
        return {m: eid for eid, members in self.clusters.items() for m in members}


def assign_ids(
    clusters: Iterable[set[str]],
    previous: Mapping[str, str],
    created_at: Mapping[str, str | None],
    prefix: str,
    is_taken: Callable[[str], bool],
) -> IdPlan:
    """Give each cluster an ID given each member's previous entity (`previous`).

    `previous` must cover every member of every previous entity that appears (the
    caller passes a closed region), so counts are whole-entity counts.
    """
    ordered = sorted((c for c in clusters if c), key=min)
    share: dict[str, Counter[int]] = defaultdict(Counter)  # old id -> cluster index -> members
    for idx, members in enumerate(ordered):
        for m in members:
            old = previous.get(m)
            if old is not None:
                share[old][idx] += 1
    goes_to: dict[str, int] = {}
    for old, counts in share.items():
        # largest part keeps the id; ties go to the part with the smallest member (lowest index)
        goes_to[old] = min(counts, key=lambda i: (-counts[i], i))
    received: dict[int, list[str]] = defaultdict(list)
    for old, idx in goes_to.items():
        received[idx].append(old)

    plan = IdPlan()
    used: set[str] = set()
    id_at: list[str] = []
    for idx, members in enumerate(ordered):
        olds = received.get(idx, [])
        if olds:
            counts = {o: share[o][idx] for o in olds}
            survivor = sorted(olds, key=lambda o: (-counts[o], created_at.get(o) or "~", o))[0]
            absorbed = sorted(o for o in olds if o != survivor)
            if absorbed:
                plan.merged[survivor] = absorbed
                for o in absorbed:
                    plan.aliases[o] = survivor
            eid = survivor
        else:
            attempt = 0
            eid = derived_id(prefix, min(members))
            while eid in used or is_taken(eid):
                attempt += 1
                eid = derived_id(prefix, min(members), attempt)
            plan.created.append(eid)
        used.add(eid)
        id_at.append(eid)
        plan.clusters[eid] = set(members)

    for old, counts in share.items():
        if len(counts) > 1:
            plan.split[old] = sorted(id_at[i] for i in counts if i != goes_to[old])

    for eid, members in plan.clusters.items():
        absorbed = set(plan.merged.get(eid, ())) | {eid}
        for m in sorted(members):
            old = previous.get(m)
            if old is None:
                plan.added.setdefault(eid, []).append(m)
            elif old not in absorbed:
                plan.moved.setdefault(eid, []).append((m, old))
    return plan

