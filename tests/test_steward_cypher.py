"""The steward and auditor queries in `cypher/steward/` run on a real Neo4j and answer
what their header comments promise, on a resolved sample graph.

They are for pasting into Neo4j Browser or Bloom, so nothing else in the suite would
notice if a rename in the graph model broke one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from graphstore.cypher_files import cypher_dir
from graphstore.model import MATCH, NEAR_MISS
from graphstore.neo4j_store import Neo4jStore
from graphstore.resolution import Resolver
from loaders.generate import generate
from loaders.load import load_file
from loaders.mapping import sample_mapping

from conftest import make_store

pytestmark = pytest.mark.neo4j
STEWARD = cypher_dir() / "steward"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jStore]:
    tmp = tmp_path_factory.mktemp("steward")
    store = make_store("neo4j", tmp)
    assert isinstance(store, Neo4jStore)
    gen = generate(tmp / "data", records=1500, seed=5)
    resolver = Resolver(store)
    # two waves, so the second one merges entities the first one created
    for wave in (("billing", "product", "support"), ("crm", "marketing")):
        for source in wave:
            load_file(store, sample_mapping(source), gen.files[source], workers=0)
        resolver.resolve()
    try:
        yield store
    finally:
        store.close()


def run(store: Neo4jStore, name: str, **params: Any) -> list[dict[str, Any]]:
    text = (STEWARD / f"{name}.cypher").read_text("utf-8")
    declared = set(re.findall(r":param (\w+)", text))
    assert declared == set(params), f"{name}.cypher documents parameters {sorted(declared)}"
    records, _, _ = store.driver.execute_query(text, params, database_=store._database)
    return [r.data() for r in records]


def test_every_steward_file_is_covered() -> None:
    assert {p.stem for p in STEWARD.glob("*.cypher")} == {
        "entity_with_evidence", "evidence_path", "hub_identifiers", "near_misses", "recent_merges",
    }


def test_entity_with_evidence(graph: Neo4jStore) -> None:
    edge = next(graph.iter_matches(decision=MATCH))
    entity = graph.entity_of_records([edge.a])[edge.a]
    rows = run(graph, "entity_with_evidence", entityId=entity)
    members = set(graph.members_of([entity])[entity])
    assert {row["r"]["key"] for row in rows} == members
    assert any(row["x"] is not None for row in rows)  # the evidence between members


def test_evidence_path(graph: Neo4jStore) -> None:
    edge = next(graph.iter_matches(decision=MATCH))
    rows = run(graph, "evidence_path", a=edge.a, b=edge.b)
    assert len(rows) == 1 and rows[0]["hops"]
    assert all(h["rule_version"] for h in rows[0]["hops"])


def test_hub_identifiers(graph: Neo4jStore) -> None:
    rows = run(graph, "hub_identifiers", minDegree=5)
    expected = graph.hub_identifiers(5, limit=100)
    assert rows and [(r["kind"], r["value"], r["records"]) for r in rows] == [
        (i.kind, i.value, i.degree) for i in sorted(expected, key=lambda i: (-i.degree, i.kind, i.value))
    ]


def test_near_misses(graph: Neo4jStore) -> None:
    rows = run(graph, "near_misses", limit=10)
    best = sorted((e.score for e in graph.iter_matches(decision=NEAR_MISS)), reverse=True)[:10]
    assert [row["score"] for row in rows] == best  # the review queue, best first
    assert all(row["entity_a"] and row["entity_b"] for row in rows)


def test_recent_merges(graph: Neo4jStore) -> None:
    rows = run(graph, "recent_merges", since="2000-01-01T00:00:00+00:00")
    assert rows, "the second wave should have merged entities of the first"
    assert {row["type"] for row in rows} <= {"merged", "merged_into", "split", "cut", "override_added",
                                              "override_removed"}
    assert all(row["rule_version"] for row in rows)
