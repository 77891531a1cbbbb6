"""The API's queries over real HTTP (TestClient), on both stores.

Each test reads the small resolved graph described in `api_support`; expectations
follow from it (Ann's three records are one person, Ann and Bob share an account,
tablet-9 and support@acme.com are hubs, Eve's account is a child of Ann's).
"""

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


RESOLVE = """query($s: String!, $id: String!) {
  resolve(source: $s, sourceId: $id) { key source sourceId resolved
    person { id kind displayName memberCount } account { id kind displayName } record { key attributes } } }"""


def test_resolve_gives_person_and_account(api: Api) -> None:
    r = api.data(RESOLVE, {"s": "crm", "id": "1"}, role="app")["resolve"]
    ann = api.entity_of("crm:1")
    assert r["key"] == "crm:1" and r["source"] == "crm" and r["sourceId"] == "1" and r["resolved"]
    assert r["person"] == {"id": ann, "kind": "PERSON", "displayName": "Ann Lee", "memberCount": 3}
    acct = api.store.accounts_of([ann])[ann]
    assert r["account"] == {"id": acct, "kind": "ACCOUNT", "displayName": "acme.com"}
    assert r["record"]["attributes"]["name"] == "Ann Lee"
    # every record of Ann resolves to the same person
    for key in ("billing:7", "support:3"):
        s, i = key.split(":")
        assert api.data(RESOLVE, {"s": s, "id": i}, role="app")["resolve"]["person"]["id"] == ann


def test_resolve_unknown_and_malformed_keys(api: Api) -> None:
    body = api.gql(RESOLVE, {"s": "crm", "id": "nope"}, role="app")
    assert body["data"]["resolve"] is None and codes(body) == ["NOT_FOUND"]
    body = api.gql(RESOLVE, {"s": "c:rm", "id": "1"}, role="app")
    assert codes(body) == ["BAD_INPUT"]
    body = api.gql(RESOLVE, {"s": "crm", "id": ""}, role="app")
    assert codes(body) == ["BAD_INPUT"]


def test_resolve_unresolved_record_has_no_person(api: Api) -> None:
    from api_support import person

    api.store.upsert_records([person("crm", "new", "nia new", ("email", "nia@x.org"))])
    r = api.data(RESOLVE, {"s": "crm", "id": "new"}, role="app")["resolve"]
    assert r["resolved"] is False and r["person"] is None and r["account"] is None


def test_resolve_many_preserves_order_with_null_and_error_for_unknown(api: Api) -> None:
    keys = [
        {"source": "support", "sourceId": "3"},
        {"source": "crm", "sourceId": "missing"},
        {"source": "crm", "sourceId": "2"},
        {"source": "crm", "sourceId": "1"},
    ]
    body = api.gql(
        "query($k: [RecordKeyInput!]!) { resolveMany(keys: $k) { key person { id } account { id } } }",
        {"k": keys}, role="app",
    )
    items = body["data"]["resolveMany"]
    assert [i and i["key"] for i in items] == ["support:3", None, "crm:2", "crm:1"]
    assert items[0]["person"]["id"] == items[3]["person"]["id"] == api.entity_of("crm:1")
    assert items[2]["person"]["id"] == api.entity_of("crm:2")
    assert items[0]["account"]["id"] == items[2]["account"]["id"]  # Ann and Bob share acme.com
    assert [(e["path"], e["extensions"]["code"]) for e in body["errors"]] == [(["resolveMany", 1], "NOT_FOUND")]


def test_entity_with_members_evidence_account_history(api: Api) -> None:
    ann = api.entity_of("crm:1")
    q = """query($id: ID!) { entity(id: $id) {
      id kind displayName attributes createdAt
      members(first: 10) { edges { node { key source sourceId } } pageInfo { hasNextPage } }
      evidence { edges { node { aKey bKey score ruleVersion decision evidence { kind value weight counted } } } }
      nearMisses { edges { node { aKey } } }
      account { id kind persons { id } parent { id } children { id } }
      history { edges { node { type at ruleVersion runId details } } }
      aliases overrides { id }
    } }"""
    e = api.data(q, {"id": ann}, role="app")["entity"]
    assert e["id"] == ann and e["kind"] == "PERSON" and e["attributes"]["records"] == 3
    assert [m["node"]["key"] for m in e["members"]["edges"]] == ["billing:7", "crm:1", "support:3"]
    edges = [x["node"] for x in e["evidence"]["edges"]]
    assert edges and all(x["decision"] == "match" and x["score"] >= 1.0 and x["ruleVersion"] for x in edges)
    kinds = {i["kind"] for x in edges for i in x["evidence"] if i["counted"]}
    assert {"email", "phone"} <= kinds
    members = {"billing:7", "crm:1", "support:3"}
    assert all(x["aKey"] in members and x["bKey"] in members for x in edges)
    bob = api.entity_of("crm:2")
    assert sorted(p["id"] for p in e["account"]["persons"]) == sorted([ann, bob])
    eve_account = api.store.accounts_of([api.entity_of("billing:8")])[api.entity_of("billing:8")]
    assert e["account"]["children"] == [{"id": eve_account}] and e["account"]["parent"] is None
    history = [h["node"] for h in e["history"]["edges"]]
    assert history[0]["type"] == "created" and history[0]["ruleVersion"] and history[0]["runId"]
    assert sorted(history[0]["details"]["records"]) == sorted(members)
    assert e["aliases"] == [] and e["overrides"] == []


def test_child_account_has_parent(api: Api) -> None:
    eve = api.entity_of("billing:8")
    acct = api.store.accounts_of([eve])[eve]
    parent = api.store.parents_of([acct])[acct]
    e = api.data("query($id: ID!) { entity(id: $id) { kind parent { id kind } persons { id } } }", {"id": acct})
    assert e["entity"] == {"kind": "ACCOUNT", "parent": {"id": parent, "kind": "ACCOUNT"}, "persons": [{"id": eve}]}


def test_entity_follows_aliases_and_unknown_is_not_found(api: Api) -> None:
    ann = api.entity_of("crm:1")
    api.store.add_aliases({"P-OLD1": "P-OLD2", "P-OLD2": ann})
    body = api.gql("{ entity(id: \"P-OLD1\") { id aliases } }", role="app")
    assert body["data"]["entity"] == {"id": ann, "aliases": ["P-OLD1", "P-OLD2"]}
    body = api.gql("{ entity(id: \"P-NOPE\") { id } }", role="app")
    assert body["data"]["entity"] is None and codes(body) == ["NOT_FOUND"]


def test_members_pagination_round_trip(api: Api) -> None:
    ann = api.entity_of("crm:1")
    q = """query($id: ID!, $after: String) { entity(id: $id) {
      members(first: 1, after: $after) { edges { cursor node { key } } pageInfo { hasNextPage endCursor } } } }"""
    seen, after = [], None
    for _ in range(5):
        page = api.data(q, {"id": ann, "after": after}, role="app")["entity"]["members"]
        seen += [e["node"]["key"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["billing:7", "crm:1", "support:3"]
    body = api.gql(q, {"id": ann, "after": "not-a-cursor"}, role="app")
    assert codes(body) == ["BAD_INPUT"]


def test_record_with_identifiers_and_hub_flags(api: Api) -> None:
    q = """query($s: String!, $id: String!) { record(source: $s, sourceId: $id) {
      key attributes normalized loadedAt entity { id }
      identifiers { kind value field degree hub identifier { hubReason } } } }"""
    r = api.data(q, {"s": "crm", "id": "1"}, role="app")["record"]
    assert r["entity"]["id"] == api.entity_of("crm:1") and r["normalized"]["full_name"] == "ann lee"
    by_kind = {i["kind"]: i for i in r["identifiers"]}
    assert by_kind["email"] == {"kind": "email", "value": "ann@acme.com", "field": "email", "degree": 2, "hub": False,
                                "identifier": {"hubReason": None}}
    assert by_kind["domain"]["degree"] == 3
    hubby = api.data(q, {"s": "product", "id": "k0"}, role="app")["record"]["identifiers"]
    assert hubby[0]["hub"] is True and "7" in hubby[0]["identifier"]["hubReason"]
    body = api.gql(q, {"s": "crm", "id": "404"}, role="app")
    assert body["data"]["record"] is None and codes(body) == ["NOT_FOUND"]


def test_identifier_with_records_degree_and_hub(api: Api) -> None:
    q = """query($k: String!, $v: String!, $after: String) { identifier(kind: $k, value: $v) {
      key degree hub hubReason records(first: 3, after: $after) {
        edges { node { key entity { id } } } pageInfo { hasNextPage endCursor } } } }"""
    ident = api.data(q, {"k": "device_id", "v": "tablet-9"}, role="app")["identifier"]
    assert ident["degree"] == 7 and ident["hub"] is True and "shared by 7" in ident["hubReason"]
    keys = [e["node"]["key"] for e in ident["records"]["edges"]]
    after = ident["records"]["pageInfo"]["endCursor"]
    while ident["records"]["pageInfo"]["hasNextPage"]:
        ident = api.data(q, {"k": "device_id", "v": "tablet-9", "after": after}, role="app")["identifier"]
        keys += [e["node"]["key"] for e in ident["records"]["edges"]]
        after = ident["records"]["pageInfo"]["endCursor"]
    assert keys == [f"product:k{i}" for i in range(7)]
    deny = api.data(q, {"k": "email", "v": "support@acme.com"}, role="app")["identifier"]
    assert deny["degree"] == 2 and deny["hub"] is True and "deny" in deny["hubReason"]
    ok = api.data(q, {"k": "email", "v": "ann@acme.com"}, role="app")["identifier"]
    assert ok["hub"] is False and ok["hubReason"] is None
    body = api.gql(q, {"k": "email", "v": "nobody@x.org"}, role="app")
    assert codes(body) == ["NOT_FOUND"]


SEARCH = """query($t: String!, $first: Int, $after: String) { search(text: $t, first: $first, after: $after) {
  edges { cursor node { matchedOn entity { id } records { key } } } pageInfo { hasNextPage endCursor } } }"""


@pytest.mark.parametrize(
    ("text", "record", "why"),
    [
        ("ANN@acme.com", "crm:1", "email"),
        ("Ann  Lee", "crm:1", "name"),
        ("(415) 555-0101", "crm:1", "phone"),
        ("U2", "product:u2", "user_id"),
        ("u2", "product:u2", "source_id"),
        ("product:u2", "product:u2", "record_key"),
    ],
)
def test_search_by_each_kind_of_key(api: Api, text: str, record: str, why: str) -> None:
    hits = [e["node"] for e in api.data(SEARCH, {"t": text}, role="app")["search"]["edges"]]
    entity = api.entity_of(record)
    hit = next(h for h in hits if h["entity"] and h["entity"]["id"] == entity)
    assert why in hit["matchedOn"] and record in [r["key"] for r in hit["records"]]


def test_search_by_domain_groups_by_entity_and_paginates(api: Api) -> None:
    first = api.data(SEARCH, {"t": "www.acme.com", "first": 1}, role="app")["search"]
    assert first["pageInfo"]["hasNextPage"]
    second = api.data(SEARCH, {"t": "acme.com", "first": 5, "after": first["pageInfo"]["endCursor"]}, role="app")
    hits = [e["node"] for e in first["edges"] + second["search"]["edges"]]
    assert sorted(h["entity"]["id"] for h in hits) == sorted([api.entity_of("crm:1"), api.entity_of("crm:2")])
    assert all(h["matchedOn"] == ["domain"] for h in hits)
    assert not second["search"]["pageInfo"]["hasNextPage"]
    assert api.data(SEARCH, {"t": "nothing-matches-this"}, role="app")["search"]["edges"] == []
    assert codes(api.gql(SEARCH, {"t": "   "}, role="app")) == ["BAD_INPUT"]


ENTITIES = """query($first: Int, $after: String, $kind: EntityKind) { entities(first: $first, after: $after, kind: $kind) {
  edges { cursor node { id kind } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""


def test_entities_keyset_pagination_round_trip(api: Api) -> None:
    everything = sorted(e.id for e in api.store.list_entities(limit=1000))
    seen, after = [], None
    while True:
        page = api.data(ENTITIES, {"first": 5, "after": after}, role="auditor")["entities"]
        seen += [e["node"]["id"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == everything
    accounts = api.data(ENTITIES, {"kind": "ACCOUNT"}, role="auditor")["entities"]["edges"]
    assert {e["node"]["kind"] for e in accounts} == {"ACCOUNT"} and len(accounts) == 2
    assert codes(api.gql(ENTITIES, {"after": "garbage!"}, role="auditor")) == ["BAD_INPUT"]


def test_explain_match_why_and_why_not(api: Api) -> None:
    q = """query($a: RecordKeyInput!, $b: RecordKeyInput!) { explainMatch(a: $a, b: $b) {
      sameEntity entityA { id } entityB { id } score threshold ruleVersion verdict
      path { aKey bKey score ruleVersion evidence { kind value counted } }
      ignored { kind value note } override { id } } }"""
    why = api.data(q, {"a": {"source": "crm", "sourceId": "1"}, "b": {"source": "support", "sourceId": "3"}},
                   role="app")["explainMatch"]
    assert why["sameEntity"] and why["entityA"] == why["entityB"] == {"id": api.entity_of("crm:1")}
    assert why["path"] and why["path"][0]["ruleVersion"] and "same entity" in why["verdict"]
    why_not = api.data(q, {"a": {"source": "product", "sourceId": "k0"}, "b": {"source": "product", "sourceId": "k1"}},
                       role="app")["explainMatch"]
    assert not why_not["sameEntity"] and why_not["path"] == []
    assert why_not["score"] < why_not["threshold"]
    hub = next(i for i in why_not["ignored"] if i["kind"] == "device_id")
    assert hub["value"] == "tablet-9" and "hub" in hub["note"] and "below threshold" in why_not["verdict"]
    body = api.gql(q, {"a": {"source": "crm", "sourceId": "1"}, "b": {"source": "crm", "sourceId": "zzz"}}, role="app")
    assert codes(body) == ["NOT_FOUND"]


def test_viewer_and_health_endpoints(api: Api) -> None:
    assert api.data("{ viewer { name role dev } }", role="app")["viewer"] == {
        "name": "test app", "role": "APP", "dev": False,
    }
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}
