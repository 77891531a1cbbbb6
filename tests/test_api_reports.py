"""GraphQL `reconciliation` and `exceptions` over HTTP, on both stores: the numbers are
the report's, drill-down pages through record keys, and apps may not read reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api_support import Api, codes, open_api
from graphstore.exceptions import exceptions
from graphstore.reconcile import reconcile
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from test_reconcile import SMALL

RECONCILE = """
query($sources: [String!]) {
  reconciliation(sources: $sources) {
    contractVersion persons accounts
    sources { source compareTo nativeCount reachedCount resolvedCount
              lines { key kind count items(first: 1) { edges { node { unit entityId recordKeys } } } } }
  }
}"""

DRILL = """
query($after: String) {
  reconciliation(sources: ["marketing"]) {
    sources { lines { key items(first: 1, after: $after) {
      edges { node { entityId recordKeys } } pageInfo { hasNextPage endCursor } } } }
  }
}"""

EXCEPTIONS = """
query($kind: ExceptionKind, $first: Int, $after: String) {
  exceptions(kind: $kind, first: $first, after: $after, asOf: "2025-06-30T00:00:00Z") {
    edges { node { kind key score entityIds recordKeys details } }
    pageInfo { hasNextPage endCursor }
  }
}"""


@pytest.fixture
def api(store: GraphStore) -> Iterator[Api]:
    store.upsert_records(SMALL)
    Resolver(store).resolve(full=True)
    yield from open_api(store)


def test_reconciliation_matches_the_report(api: Api) -> None:
    data = api.data(RECONCILE, role="auditor")["reconciliation"]
    report = reconcile(api.store)
    assert (data["persons"], data["accounts"]) == (report.persons, report.accounts)
    assert [s["source"] for s in data["sources"]] == [b.source for b in report.bridges]
    for node, bridge in zip(data["sources"], report.bridges):
        assert (node["nativeCount"], node["reachedCount"], node["resolvedCount"]) == (
            bridge.native, bridge.reached, bridge.resolved)
        steps = sum(ln["count"] for ln in node["lines"] if ln["kind"] == "STEP")
        assert node["nativeCount"] + steps == node["resolvedCount"]
        for ln in node["lines"]:
            assert len(ln["items"]["edges"]) == min(1, abs(ln["count"]))


def test_drill_down_pages_through_every_item(api: Api) -> None:
    """marketing's `other_sources` line, one item per page, yields exactly the report's items."""
    expected = reconcile(api.store).bridge("marketing").line("other_sources").items
    seen: list[tuple[str, ...]] = []
    after = None
    while True:
        lines = api.data(DRILL, {"after": after}, role="steward")["reconciliation"]["sources"][0]["lines"]
        page = next(ln for ln in lines if ln["key"] == "other_sources")["items"]
        seen += [tuple(e["node"]["recordKeys"]) for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(expected) > 1 and seen == [i.record_keys for i in expected]


def test_unknown_source_is_bad_input(api: Api) -> None:
    body = api.gql(RECONCILE, {"sources": ["erp"]})
    assert codes(body) == ["BAD_INPUT"] and "erp" in body["errors"][0]["message"]


def test_exceptions_one_kind_and_all(api: Api) -> None:
    hubs = api.data(EXCEPTIONS, {"kind": "HUB_IDENTIFIERS"}, role="steward")["exceptions"]["edges"]
    assert [e["node"]["key"] for e in hubs] == ["email:support@acme.com"]
    assert hubs[0]["node"]["details"]["degree"] == 1 and hubs[0]["node"]["kind"] == "HUB_IDENTIFIERS"
    # every kind, paged 3 at a time, equals the concatenated lists
    expected = [
        i.key for k in ("conflicting_attributes", "stale_records", "missing_identifiers", "hub_identifiers", "near_misses")
        for i in exceptions(api.store, k, as_of="2025-06-30T00:00:00Z")
    ]
    keys: list[str] = []
    after = None
    while True:
        page = api.data(EXCEPTIONS, {"first": 3, "after": after}, role="auditor")["exceptions"]
        keys += [e["node"]["key"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert keys == expected and keys


def test_bad_kind_and_as_of_are_refused(api: Api) -> None:
    body = api.gql(EXCEPTIONS, {"kind": "STALE"})
    assert body.get("errors") and "STALE" in body["errors"][0]["message"]
    body = api.gql('{ exceptions(asOf: "yesterday") { edges { node { key } } } }')
    assert codes(body) == ["BAD_INPUT"]


@pytest.mark.parametrize("role", ["app"])
def test_apps_may_not_read_reports(api: Api, role: str) -> None:
    assert codes(api.gql("{ reconciliation { persons } }", role=role)) == ["FORBIDDEN"]
    assert codes(api.gql("{ exceptions { edges { node { key } } } }", role=role)) == ["FORBIDDEN"]
    assert codes(api.gql("{ reconciliation { persons } }", role=None)) == ["UNAUTHENTICATED"]


def test_contract_from_environment(api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("version: \"1\"\n", encoding="utf-8")
    monkeypatch.setenv("ENTITYSTORE_METRICS", str(bad))
    body = api.gql("{ reconciliation { persons } }")
    assert codes(body) == ["BAD_INPUT"] and "reconciliation" in body["errors"][0]["message"]
