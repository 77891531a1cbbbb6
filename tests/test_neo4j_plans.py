"""The keyed lookups (`UNWIND $keys AS k MATCH (:Label {key: k})...`) start from the label's
unique-index seek, planned the way the store runs them: a full chunk of keys (READ_CHUNK),
on a nearly empty database. An empty store is where a scan looks cheapest to the planner, and
where a plan gets made after a wipe or in a test run; a plan that starts elsewhere costs
a pass over every node or edge of a kind per key (O(keys x graph)). region_step did start
from the MATCHED(decision) relationship index there, and is pinned with `USING INDEX`; the
others keep the seek on their own and are checked so that an edit cannot lose it.
Plans come from EXPLAIN through the driver (the result summary's plan), on a real server."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphstore.cypher_files import statement
from graphstore.neo4j_store import READ_CHUNK, WRITE_CHUNK, Neo4jStore
from tests.conftest import make_store

pytestmark = pytest.mark.neo4j

# Operators that read a whole label, relationship type or index: one of these under a per-key
# Apply is the O(keys x graph) plan. region_step's overrides part scans :Override on purpose
# (few, and read once per statement), so that label is allowed there.
_SCANS = re.compile(r"AllNodesScan|NodeByLabelScan|NodeIndexScan|RelationshipTypeScan|RelationshipIndexSeek|RelationshipIndexScan")

# statement -> (the unique index every key is sought in, size of its key list)
KEYED: dict[str, tuple[str, int]] = {
    "belongs_to_by_person": ("Entity(id)", READ_CHUNK),
    "belongs_to_by_account": ("Entity(id)", READ_CHUNK),
    "child_of_by_child": ("Entity(id)", READ_CHUNK),
    "child_of_by_parent": ("Entity(id)", READ_CHUNK),
    "member_of_by_record": ("Record(key)", READ_CHUNK),
    "member_of_by_entity": ("Entity(id)", READ_CHUNK),
    "matches_for": ("Record(key)", READ_CHUNK),
    "matches_delete_touching": ("Record(key)", WRITE_CHUNK),
    "region_step": ("Record(key)", READ_CHUNK),
}


def _resample(store: Neo4jStore) -> None:
    """Every index sampled as the database is now (the planner reads samples, which the server
    otherwise refreshes in the background, some time after a wipe): the empty case, for sure."""
    names = [r["name"] for r in store.driver.execute_query("SHOW INDEXES YIELD name, type WHERE type = 'RANGE' RETURN name").records]
    for name in names:
        store.driver.execute_query("CALL db.resampleIndex($name)", {"name": name})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        counts = store.driver.execute_query("CALL db.stats.retrieve('GRAPH COUNTS') YIELD data RETURN data").records[0]["data"]
        if all(ix["updatesSinceEstimation"] == 0 for ix in counts["indexes"] if ix["indexType"] == "RANGE"):
            return
        time.sleep(0.2)
    raise AssertionError("index samples did not catch up with the wiped database in 60 s")


@pytest.fixture(scope="module")
def neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jStore]:
    store = make_store("neo4j", Path(tmp_path_factory.mktemp("plans")))  # wiped: the empty case
    assert isinstance(store, Neo4jStore)
    try:
        _resample(store)
        yield store
    finally:
        store.close()


def _operators(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(operator name, details) of every operator in a summary plan, root first."""
    yield plan["operatorType"].split("@")[0], str(plan.get("args", {}).get("Details", ""))
    for child in plan.get("children", []):
        yield from _operators(child)


def _plan(store: Neo4jStore, name: str, n: int) -> list[tuple[str, str]]:
    """The plan the server makes now for `name` with n keys (replan=force: not a cached one)."""
    text = statement(name)
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
    keys = [f"key-{i}" for i in range(n)]
    values: dict[str, Any] = {"keys": keys, "decision": "match"}
    params = {p: values[p] for p in set(re.findall(r"\$([A-Za-z_]+)", body))}
    result = store.driver.execute_query("CYPHER replan=force EXPLAIN " + text, params)
    return list(_operators(result.summary.plan))


@pytest.mark.parametrize("name", sorted(KEYED))
def test_keyed_lookup_seeks_the_unique_index(neo4j: Neo4jStore, name: str) -> None:
    index, n = KEYED[name]
    ops = _plan(neo4j, name, n)
    seeks = [d for op, d in ops if op.startswith("NodeUniqueIndexSeek") and f":{index} WHERE" in d]
    assert seeks, f"{name}: no unique seek on {index}: {ops}"
    scans = [(op, d) for op, d in ops if _SCANS.search(op) and not (name == "region_step" and ":Override" in d)]
    assert not scans, f"{name}: starts from a scan, not the {index} seek: {scans}"


def test_the_check_sees_a_scan(neo4j: Neo4jStore) -> None:
    """The operator names the test looks for are the ones the server reports: a lookup written
    without its label plans as a scan, and the check catches it."""
    result = neo4j.driver.execute_query("CYPHER replan=force EXPLAIN UNWIND $keys AS k MATCH (e) WHERE e.id = k RETURN e", {"keys": ["a"]})
    assert any(_SCANS.search(op) for op, _ in _operators(result.summary.plan))
