"""From accepted pairs to clusters, with steward overrides that are never violated.

Clusters are the connected components of accepted MATCHED edges plus must-link
overrides. A cannot-link override that ends up inside one component splits it along
its weakest links: a minimum s-t cut (networkx) where each edge's capacity is its
score and must-links are uncuttable. Everything is built in sorted order, so the same
input always gives the same cut.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

import networkx as nx

Pair = tuple[str, str]


class OverrideConflict(ValueError):
    """A cannot-link pair that must-links force together: no clustering can honour both."""


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while root != parent[root]:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> list[set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for x in self.parent:
            out[self.find(x)].add(x)
        return list(out.values())


def cluster(
    nodes: Iterable[str],
    edges: Sequence[tuple[str, str, float]],
    must_link: Sequence[Pair] = (),
    cannot_link: Sequence[Pair] = (),
) -> tuple[list[set[str]], list[dict[str, object]]]:
    """Partition `nodes` into clusters; returns the clusters and the cuts made.

    Each cut is reported (which cannot-link caused it and which edges it removed) so the
    resolver can write it into the history.
    """
    uf = UnionFind()
    for n in nodes:
        uf.find(n)
    for a, b, _ in edges:
        uf.union(a, b)
    for a, b in must_link:
        uf.union(a, b)
    if not cannot_link:
        return uf.groups(), []

    by_root: dict[str, list[Pair]] = defaultdict(list)
    for a, b in cannot_link:
        if a in uf.parent and b in uf.parent and uf.find(a) == uf.find(b):
            by_root[uf.find(a)].append((a, b))
    if not by_root:
        return uf.groups(), []

    groups = uf.groups()
    out: list[set[str]] = []
    cuts: list[dict[str, object]] = []
    edges_by_root: dict[str, list[tuple[str, str, float]]] = defaultdict(list)
    for a, b, w in edges:
        r = uf.find(a)
        if r in by_root:
            edges_by_root[r].append((a, b, w))
    musts_by_root: dict[str, list[Pair]] = defaultdict(list)
    for a, b in must_link:
        r = uf.find(a)
        if r in by_root:
            musts_by_root[r].append((a, b))
    for g in groups:
        root = uf.find(next(iter(g)))
        if root not in by_root:
            out.append(g)
            continue
        parts, made = _split(g, edges_by_root[root], musts_by_root[root], by_root[root])
        out.extend(parts)
        cuts.extend(made)
    return out, cuts


def _split(
    members: set[str],
    edges: list[tuple[str, str, float]],
    musts: list[Pair],
    cannots: list[Pair],
) -> tuple[list[set[str]], list[dict[str, object]]]:
    g = nx.Graph()
    g.add_nodes_from(sorted(members))
    for a, b, w in sorted(edges):
        cap = g[a][b]["capacity"] + w if g.has_edge(a, b) else w
        g.add_edge(a, b, capacity=cap)
    for a, b in sorted(musts):
        g.add_edge(a, b, capacity=float("inf"))
    cuts: list[dict[str, object]] = []
    for _ in range(len(cannots) * 4 + 4):  # each round separates at least one pair
        comp_of = {n: i for i, comp in enumerate(nx.connected_components(g)) for n in comp}
        violated = sorted((a, b) for a, b in cannots if comp_of[a] == comp_of[b])
        if not violated:
            break
        a, b = violated[0]
        comp = g.subgraph(nx.node_connected_component(g, a)).copy()
        digraph = comp.to_directed()
        try:
            cut_value, (side_a, _) = nx.minimum_cut(digraph, a, b, capacity="capacity")
        except nx.NetworkXUnbounded:
            raise OverrideConflict(f"cannot-link {a} / {b} contradicts must-link overrides joining them") from None
        if cut_value == float("inf"):
            raise OverrideConflict(f"cannot-link {a} / {b} contradicts must-link overrides joining them")
        removed = sorted(
            (u, v) if u < v else (v, u) for u, v in comp.edges() if (u in side_a) != (v in side_a)
        )
        g.remove_edges_from(removed)
        cuts.append({"cannot_link": [a, b], "removed_edges": [list(e) for e in removed], "cut_weight": cut_value})
    return [set(c) for c in nx.connected_components(g)], cuts
