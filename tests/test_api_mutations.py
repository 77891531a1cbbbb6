"""Steward overrides over HTTP, and the audit trail they leave, on both stores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api_support import Api, build_graph, codes, open_api
from graphstore.store import GraphStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def api(store: GraphStore) -> Iterator[Api]:
    build_graph(store)
    yield from open_api(store)


LINK = """mutation($a: RecordKeyInput!, $b: RecordKeyInput!, $r: String!) { linkRecords(a: $a, b: $b, reason: $r) {
  override { id kind aKey bKey actor reason active } entities { id memberCount members { edges { node { key } } } } } }"""
SPLIT = LINK.replace("linkRecords", "splitRecords")
REMOVE = """mutation($id: ID!, $r: String!) { removeOverride(id: $id, reason: $r) {
  override { id active removedBy removedReason } entities { id memberCount } } }"""
AUDIT = """query($e: ID, $since: String, $first: Int, $after: String) { auditLog(entityId: $e, since: $since, first: $first, after: $after) {
  edges { node { seq entityId type at actor reason ruleVersion details } } pageInfo { hasNextPage endCursor } } }"""


def rk(key: str) -> dict[str, str]:
    s, i = key.split(":")
    return {"source": s, "sourceId": i}


def test_link_records_merges_at_once_and_is_audited(api: Api) -> None:
    body = api.data(LINK, {"a": rk("support:9"), "b": rk("support:10"), "r": "same customer per phone call"},
                    role="steward")["linkRecords"]
    o = body["override"]
    assert o["kind"] == "LINK" and {o["aKey"], o["bKey"]} == {"support:9", "support:10"} and o["active"]
    assert o["actor"].startswith("test steward") and o["reason"] == "same customer per phone call"
    assert len(body["entities"]) == 1 and body["entities"][0]["memberCount"] == 2
    merged = body["entities"][0]["id"]
    assert api.entity_of("support:9") == api.entity_of("support:10") == merged
    # the evidence path now includes the steward's must-link
    ex = api.data('{ explainMatch(a: {source: "support", sourceId: "9"}, b: {source: "support", sourceId: "10"})'
                  " { sameEntity path { decision } } }", role="app")["explainMatch"]
    assert ex["sameEntity"] and ex["path"][0]["decision"] == "override"
    log = [e["node"] for e in api.data(AUDIT, {"e": merged}, role="auditor")["auditLog"]["edges"]]
    added = [e for e in log if e["type"] == "override_added"]
    assert added and added[0]["actor"] == o["actor"] and added[0]["reason"] == o["reason"]
    assert added[0]["ruleVersion"] and added[0]["details"]["override_id"] == o["id"]
    assert any(e["type"] in ("merged", "merged_into") for e in log)


def test_split_records_cuts_and_remove_override_restores(api: Api) -> None:
    ann = api.entity_of("crm:1")
    split = api.data(SPLIT, {"a": rk("crm:1"), "b": rk("support:3"), "r": "different people"},
                     role="steward")["splitRecords"]
    assert split["override"]["kind"] == "CANNOT_LINK"
    ids = [e["id"] for e in split["entities"]]
    assert len(set(ids)) == 2 and api.entity_of("crm:1") != api.entity_of("support:3")
    ex = api.data('{ explainMatch(a: {source: "crm", sourceId: "1"}, b: {source: "support", sourceId: "3"})'
                  " { sameEntity override { id kind } verdict } }", role="app")["explainMatch"]
    assert not ex["sameEntity"] and ex["override"]["id"] == split["override"]["id"]
    assert "cannot-link" in ex["verdict"]
    holder = api.entity_of("crm:1")
    overrides = api.data("query($id: ID!) { entity(id: $id) { overrides { id kind } } }", {"id": holder},
                         role="steward")["entity"]["overrides"]
    assert overrides == [{"id": split["override"]["id"], "kind": "CANNOT_LINK"}]

    removed = api.data(REMOVE, {"id": split["override"]["id"], "r": "was wrong"}, role="steward")["removeOverride"]
    assert removed["override"]["active"] is False and removed["override"]["removedReason"] == "was wrong"
    assert len({e["id"] for e in removed["entities"]}) == 1 and removed["entities"][0]["memberCount"] == 3
    assert api.entity_of("crm:1") == api.entity_of("support:3") == ann  # the majority id comes back
    # the whole story is in the audit log, oldest first, with actor, reason and rule version
    log = [e["node"] for e in api.data(AUDIT, {"first": 100}, role="auditor")["auditLog"]["edges"]]
    types = [e["type"] for e in log]
    assert "override_added" in types and "override_removed" in types and "split" in types
    assert types.index("override_added") < types.index("override_removed")
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)
    assert all(e["ruleVersion"] for e in log if e["type"].startswith("override"))


def test_mutation_input_errors(api: Api) -> None:
    body = api.gql(LINK, {"a": rk("crm:1"), "b": rk("crm:404"), "r": "x"}, role="steward")
    assert codes(body) == ["NOT_FOUND"] and body["data"] is None
    assert codes(api.gql(LINK, {"a": rk("crm:1"), "b": rk("crm:2"), "r": "  "}, role="steward")) == ["BAD_INPUT"]
    assert codes(api.gql(LINK, {"a": rk("crm:1"), "b": rk("crm:1"), "r": "x"}, role="steward")) == ["BAD_INPUT"]
    assert codes(api.gql(REMOVE, {"id": "ovr-nope", "r": "x"}, role="steward")) == ["NOT_FOUND"]
    # a must-link contradicting an active cannot-link is refused
    api.data(SPLIT, {"a": rk("crm:2"), "b": rk("product:u2"), "r": "apart"}, role="steward")
    assert codes(api.gql(LINK, {"a": rk("crm:2"), "b": rk("product:u2"), "r": "together"}, role="steward")) == [
        "BAD_INPUT"
    ]


def test_audit_log_pagination_since_and_entity_filter(api: Api) -> None:
    api.data(LINK, {"a": rk("support:9"), "b": rk("support:10"), "r": "one"}, role="steward")
    api.data(SPLIT, {"a": rk("crm:2"), "b": rk("product:u2"), "r": "two"}, role="steward")
    everything = [e["node"] for e in api.data(AUDIT, {"first": 100}, role="auditor")["auditLog"]["edges"]]
    assert len(everything) >= 4
    seen, after = [], None
    while True:
        page = api.data(AUDIT, {"first": 2, "after": after}, role="auditor")["auditLog"]
        seen += [e["node"]["seq"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [e["seq"] for e in everything]
    later = everything[-1]["at"]
    since = [e["node"] for e in api.data(AUDIT, {"since": later}, role="auditor")["auditLog"]["edges"]]
    assert since and all(e["at"] >= later for e in since)
    bob = api.entity_of("crm:2")
    mine = [e["node"] for e in api.data(AUDIT, {"e": bob}, role="auditor")["auditLog"]["edges"]]
    assert mine and all(e["entityId"] == bob or bob in str(e["details"]) for e in mine)
    assert codes(api.gql(AUDIT, {"after": "bad"}, role="auditor")) == ["BAD_INPUT"]
