"""Answers to "why did these two records merge?" and "why not?".

Why: the shortest chain of accepted MATCHED edges (and must-link overrides) inside
their entity, each edge with its evidence, score and rule version. Why not: the pair's
own score recomputed with the same scoring code and the same hub guards, against the
threshold, plus the ignored hub evidence and any cannot-link override between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .blocking import identifier_guards
from .model import CANNOT_LINK, LINK, MATCH, EvidenceItem, MatchEdge, Override
from .rules import Rules
from .scoring import evaluate_pair
from .store import GraphStore
from .views import make_views


class UnknownRecord(KeyError):
    """A record key that is not in the store."""

    def __str__(self) -> str:
        return f"unknown record {self.args[0]!r}"


@dataclass
class Explanation:
    a: str
    b: str
    same_entity: bool
    entity_ids: tuple[str | None, str | None]
    path: list[MatchEdge] = field(default_factory=list)
    score: float | None = None
    threshold: float = 0.0
    rule_version: str = ""
    evidence: list[EvidenceItem] = field(default_factory=list)
    ignored: list[EvidenceItem] = field(default_factory=list)
    override: Override | None = None
    verdict: str = ""


def explain_pair(store: GraphStore, rules: Rules, a: str, b: str) -> Explanation:
    records = store.get_records([a, b])
    for key in (a, b):
        if key not in records:
            raise UnknownRecord(key)
    ents = store.entity_of_records([a, b])
    ea, eb = ents.get(a), ents.get(b)
    views = make_views(records.values(), rules)
    idents = store.identifiers_of_records([a, b])
    degrees = {i.key: i.degree for lst in idents.values() for i in lst}
    guards = identifier_guards(degrees, rules)
    score, items, _ = evaluate_pair(views[a], views[b], guards, rules)
    ex = Explanation(
        a=a, b=b, same_entity=ea is not None and ea == eb, entity_ids=(ea, eb), score=score,
        threshold=rules.threshold, rule_version=rules.rule_version,
        evidence=[i for i in items if i.counted], ignored=[i for i in items if not i.counted],
    )
    overrides = store.get_overrides(record_keys=[a, b])
    if ex.same_entity:
        assert ea is not None
        ex.path = _evidence_path(store, ea, a, b, overrides)
        hops = " -> ".join(f"{e.a}~{e.b} ({_kinds(e)})" for e in ex.path)
        ex.verdict = f"same entity {ea}: linked through {len(ex.path)} edge(s): {hops}"
        return ex
    between = [o for o in overrides if {o.a, o.b} == {a, b}]
    cannot = next((o for o in between if o.kind == CANNOT_LINK), None)
    if cannot is None and ea and eb:
        members = store.members_of([ea, eb])
        mine, theirs = set(members[ea]), set(members[eb])
        for o in store.get_overrides(record_keys=mine | theirs):
            if o.kind == CANNOT_LINK and ((o.a in mine and o.b in theirs) or (o.a in theirs and o.b in mine)):
                cannot = o
                break
    ex.override = cannot
    if cannot is not None:
        ex.verdict = (
            f"kept apart by cannot-link override {cannot.id} by {cannot.actor} ({cannot.reason}); "
            f"the pair scores {score:g} against threshold {rules.threshold:g}"
        )
    elif score >= rules.threshold:
        ex.verdict = f"the pair scores {score:g} (>= {rules.threshold:g}) but is not resolved yet: run `entitystore resolve`"
    else:
        reason = f"best score {score:g} is below threshold {rules.threshold:g}"
        if ex.ignored:
            reason += "; ignored: " + ", ".join(f"{i.kind}={i.value or i.left} ({i.note})" for i in ex.ignored)
        ex.verdict = f"different entities ({ea} vs {eb}): {reason}"
    return ex


def _kinds(e: MatchEdge) -> str:
    return "+".join(i.kind for i in e.evidence if i.counted) or e.decision


def _evidence_path(store: GraphStore, entity_id: str, a: str, b: str, overrides: list[Override]) -> list[MatchEdge]:
    members = set(store.members_of([entity_id])[entity_id])
    g = nx.Graph()
    edges = {}
    for e in store.matches_for(members, decision=MATCH):
        if e.a in members and e.b in members:
            g.add_edge(e.a, e.b, weight=1.0 / max(e.score, 1e-6))
            edges[e.pair] = e
    for o in store.get_overrides(record_keys=members):
        if o.kind == LINK and o.a in members and o.b in members:
            g.add_edge(o.a, o.b, weight=0.0)
            edges.setdefault(
                (o.a, o.b),
                MatchEdge(o.a, o.b, 0.0, "override", [EvidenceItem("must_link", 0.0, value=o.id, note=o.reason)], "override"),
            )
    if a not in g or b not in g:
        return []
    nodes = nx.shortest_path(g, a, b, weight="weight")
    out = []
    for x, y in zip(nodes, nodes[1:]):
        out.append(edges[(x, y) if x < y else (y, x)])
    return out
