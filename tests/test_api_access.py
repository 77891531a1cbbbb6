"""Access control over HTTP: keys, each role's allowed and forbidden operations, dev mode, GraphiQL."""

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


# One representative request per operation. Allowed calls may still fail for their own
# reasons (an unknown record is NOT_FOUND); what matters is FORBIDDEN or not.
OPERATIONS = {
    "resolve": '{ resolve(source: "crm", sourceId: "1") { key } }',
    "resolveMany": '{ resolveMany(keys: [{source: "crm", sourceId: "1"}]) { key } }',
    "entity": '{ entity(id: "P-none") { id } }',
    "search": '{ search(text: "ann@acme.com") { edges { cursor } } }',
    "record": '{ record(source: "crm", sourceId: "1") { key } }',
    "identifier": '{ identifier(kind: "email", value: "ann@acme.com") { degree } }',
    "explainMatch": '{ explainMatch(a: {source: "crm", sourceId: "1"}, b: {source: "crm", sourceId: "2"}) { verdict } }',
    "viewer": "{ viewer { role } }",
    "entities": "{ entities(first: 1) { edges { cursor } } }",
    "auditLog": "{ auditLog(first: 1) { edges { cursor } } }",
    "apiKeys": "{ apiKeys { id } }",
    "linkRecords": 'mutation { linkRecords(a: {source: "crm", sourceId: "x1"}, b: {source: "crm", sourceId: "x2"}, reason: "r") { entities { id } } }',
    "splitRecords": 'mutation { splitRecords(a: {source: "crm", sourceId: "x1"}, b: {source: "crm", sourceId: "x2"}, reason: "r") { entities { id } } }',
    "removeOverride": 'mutation { removeOverride(id: "ovr-none", reason: "r") { entities { id } } }',
    "createApiKey": 'mutation { createApiKey(name: "", role: APP) { key } }',
    "revokeApiKey": 'mutation { revokeApiKey(id: "key-none") { id } }',
}
READ = {"resolve", "resolveMany", "entity", "search", "record", "identifier", "explainMatch", "viewer"}
MUTATE = {"linkRecords", "splitRecords", "removeOverride"}
AUDIT = {"entities", "auditLog"}
ADMIN = {"apiKeys", "createApiKey", "revokeApiKey"}
ALLOWED = {
    "app": READ,
    "steward": READ | MUTATE,
    "auditor": READ | AUDIT,
    "admin": READ | MUTATE | AUDIT | ADMIN,
}


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_each_role_allowed_and_forbidden_operations(api: Api, role: str) -> None:
    for op, query in OPERATIONS.items():
        body = api.gql(query, role=role)
        got = codes(body)
        if op in ALLOWED[role]:
            assert "FORBIDDEN" not in got and "UNAUTHENTICATED" not in got, (role, op, body)
        else:
            assert got == ["FORBIDDEN"], (role, op, body)
            assert role in body["errors"][0]["message"]
            assert body["data"] is None


def test_requests_without_a_valid_key_are_refused(api: Api) -> None:
    for token, role in ((None, None), ("esk_not-a-key", None), ("", None)):
        r = api.post(OPERATIONS["resolve"], role=role, token=token)
        assert r.status_code == 401, token
        assert codes(r.json()) == ["UNAUTHENTICATED"] and r.json()["data"] is None
    r = api.client.post("/graphql", json={"query": "{ viewer { role } }"}, headers={"Authorization": "Basic abc"})
    assert r.status_code == 401 and codes(r.json()) == ["UNAUTHENTICATED"]
    # introspection is refused too: nothing runs without a key
    r = api.post("{ __schema { queryType { name } } }", role=None)
    assert r.status_code == 401


def test_revoked_key_stops_working_and_keys_are_managed_by_admins(api: Api) -> None:
    created = api.data('mutation { createApiKey(name: "crm sync", role: APP) { key apiKey { id role hint active } } }')
    key, info = created["createApiKey"]["key"], created["createApiKey"]["apiKey"]
    assert info["role"] == "APP" and info["active"] and key.endswith(info["hint"])
    assert api.gql("{ viewer { name role } }", role=None, token=key)["data"]["viewer"] == {"name": "crm sync", "role": "APP"}
    stored = api.store.api_key_by_hash(__import__("api.auth", fromlist=["hash_key"]).hash_key(key))
    assert stored is not None and key not in repr(stored)  # only the hash is kept
    listed = api.data("{ apiKeys { id name } }")["apiKeys"]
    assert info["id"] in [k["id"] for k in listed]
    revoked = api.data("mutation($id: ID!) { revokeApiKey(id: $id) { active revokedAt } }", {"id": info["id"]})
    assert revoked["revokeApiKey"]["active"] is False
    r = api.post("{ viewer { name } }", role=None, token=key)
    assert r.status_code == 401 and codes(r.json()) == ["UNAUTHENTICATED"]
    assert info["id"] not in [k["id"] for k in api.data("{ apiKeys { id } }")["apiKeys"]]
    assert info["id"] in [k["id"] for k in api.data("{ apiKeys(includeRevoked: true) { id } }")["apiKeys"]]
    assert codes(api.gql('mutation { createApiKey(name: "x", role: APP) { key } }', role="steward")) == ["FORBIDDEN"]
    assert codes(api.gql('mutation { createApiKey(name: " ", role: APP) { key } }')) == ["BAD_INPUT"]


def test_graphiql_only_for_dev_or_authenticated(api: Api) -> None:
    html = {"Accept": "text/html"}
    r = api.client.get("/graphql", headers=html)
    assert r.status_code == 401 and codes(r.json()) == ["UNAUTHENTICATED"]
    r = api.client.get("/graphql", headers={**html, "Authorization": f"Bearer {api.keys['app']}"})
    assert r.status_code == 200 and "graphiql" in r.text.lower()


def test_dev_mode_needs_no_key_but_still_refuses_bad_ones(store: GraphStore) -> None:
    build_graph(store)
    for api in open_api(store, dev=True):
        assert api.data("{ viewer { role dev } }", role=None) == {"viewer": {"role": "ADMIN", "dev": True}}
        r = api.client.get("/graphql", headers={"Accept": "text/html"})
        assert r.status_code == 200 and "graphiql" in r.text.lower()
        r = api.post("{ viewer { role } }", role=None, token="esk_wrong")
        assert r.status_code == 401
        # a real key still counts in dev mode: its role applies
        assert codes(api.gql("{ entities { edges { cursor } } }", role="app")) == ["FORBIDDEN"]


def test_queries_via_get_work_and_mutations_via_get_do_not(api: Api) -> None:
    auth = {"Authorization": f"Bearer {api.keys['admin']}"}
    r = api.client.get("/graphql", params={"query": "{ viewer { role } }"}, headers=auth)
    assert r.status_code == 200 and r.json()["data"]["viewer"]["role"] == "ADMIN"
    r = api.client.get("/graphql", params={"query": OPERATIONS["removeOverride"]}, headers=auth)
    assert r.status_code in (400, 405)
