"""Malformed queries, depth bombs, oversized pages, cost and time limits, masked errors."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from api.limits import Limits
from api_support import Api, build_graph, codes, open_api
from graphstore.store import GraphStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def api(store: GraphStore) -> Iterator[Api]:
    build_graph(store)
    yield from open_api(store, limits=Limits(max_keys=50))


@pytest.mark.parametrize(
    "query",
    [
        '{ resolve(source: "crm", sourceId: "1") { key ',  # syntax error
        "{ nope }",  # unknown field
        '{ resolve(source: "crm") { key } }',  # missing argument
        "{ resolve(source: 1, sourceId: 2) { key } }",  # wrong types
        "query { viewer { role } } query { viewer { role } }",  # two anonymous operations
    ],
)
def test_malformed_queries_are_bad_input(api: Api, query: str) -> None:
    body = api.gql(query)
    assert codes(body) and set(codes(body)) == {"BAD_INPUT"}, body


def test_bad_variables_and_bodies(api: Api) -> None:
    q = "query($n: Int) { entities(first: $n) { edges { cursor } } }"
    assert codes(api.gql(q, {"n": "ten"})) == ["BAD_INPUT"]
    auth = {"Authorization": f"Bearer {api.keys['admin']}"}
    r = api.client.post("/graphql", content=b"{not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400 and "Traceback" not in r.text
    r = api.client.post("/graphql", json={"variables": {}}, headers=auth)
    assert r.status_code == 400


def test_depth_bomb_is_refused(api: Api) -> None:
    nested = "id"
    for _ in range(12):
        nested = f"account {{ children {{ {nested} }} }}"
    body = api.gql(f'{{ entity(id: "x") {{ {nested} }} }}')
    assert codes(body) == ["LIMIT_EXCEEDED"] and "depth" in body["errors"][0]["message"]


def test_fragment_cycle_and_alias_bombs_are_refused(api: Api) -> None:
    aliases = " ".join(f'a{i}: viewer {{ role }}' for i in range(40))
    assert codes(api.gql(f"{{ {aliases} }}")) == ["LIMIT_EXCEEDED"]
    cycle = "fragment F on Entity { account { ...G } } fragment G on Entity { children { ...F } } { entity(id: \"x\") { ...F } }"
    assert "BAD_INPUT" in codes(api.gql(cycle))


def test_oversized_page_is_refused(api: Api) -> None:
    for query in (
        "{ entities(first: 101) { edges { cursor } } }",
        '{ search(text: "acme.com", first: 1000) { edges { cursor } } }',
        '{ entity(id: "x") { members(first: 500) { edges { cursor } } } }',
        '{ auditLog(first: 101) { edges { cursor } } }',
    ):
        body = api.gql(query)
        assert codes(body) == ["LIMIT_EXCEEDED"], (query, body)
        assert "100" in body["errors"][0]["message"]
    assert codes(api.gql("{ entities(first: -1) { edges { cursor } } }")) == ["BAD_INPUT"]


def test_costly_query_is_refused_before_touching_the_store(api: Api) -> None:
    q = """{ entities(first: 100) { edges { node { id kind displayName
          members(first: 100) { edges { node { key source sourceId attributes identifiers { kind value } } } } } } } }"""
    body = api.gql(q)
    assert codes(body) == ["LIMIT_EXCEEDED"] and "cost" in body["errors"][0]["message"]
    # with variables too
    q2 = "query($n: Int) { entities(first: $n) { edges { node { members(first: $n) { edges { node { key attributes normalized loadedAt batchId updatedAt } } } } } } }"
    assert codes(api.gql(q2, {"n": 100})) == ["LIMIT_EXCEEDED"]
    assert not api.gql(q2, {"n": 3}).get("errors")


def test_resolve_many_key_limit(api: Api) -> None:
    keys = [{"source": "crm", "sourceId": str(i)} for i in range(51)]
    body = api.gql("query($k: [RecordKeyInput!]!) { resolveMany(keys: $k) { key } }", {"k": keys}, role="app")
    assert codes(body) == ["LIMIT_EXCEEDED"] and "50" in body["errors"][0]["message"]


def test_token_limit(store: GraphStore) -> None:
    build_graph(store)
    for api in open_api(store, limits=Limits(max_tokens=50)):
        fields = " ".join("id" for _ in range(60))
        body = api.gql(f'{{ entity(id: "x") {{ {fields} }} }}')
        assert codes(body) == ["LIMIT_EXCEEDED"]


class _Exploding:
    """A store stand-in whose reads fail with an internal error full of details."""

    def __init__(self, store: GraphStore, slow: float = 0.0) -> None:
        self._store = store
        self._slow = slow

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name in ("entity_of_records", "get_entities") and callable(attr):
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                if self._slow:
                    time.sleep(self._slow)
                    return attr(*args, **kwargs)
                raise RuntimeError("SELECT secret FROM /var/lib/db.sqlite line 42")
            return wrapped
        return attr


def test_internal_errors_are_masked_without_traces(store: GraphStore) -> None:
    build_graph(store)
    for api in open_api(_Exploding(store)):  # type: ignore[arg-type]
        r = api.post('{ resolve(source: "crm", sourceId: "1") { person { id } } }')
        body = r.json()
        assert codes(body) == ["INTERNAL_ERROR"] and body["errors"][0]["message"] == "Unexpected error."
        for leak in ("secret", "sqlite", "Traceback", "RuntimeError", "line 42"):
            assert leak not in r.text


def test_slow_requests_hit_the_timeout(store: GraphStore) -> None:
    build_graph(store)
    slow = _Exploding(store, slow=1.0)
    for api in open_api(slow, limits=Limits(timeout_s=0.2), inline_store_calls=False):  # type: ignore[arg-type]
        t = time.monotonic()
        body = api.gql('{ resolve(source: "crm", sourceId: "1") { person { id } } }')
        assert codes(body) == ["LIMIT_EXCEEDED"] and "0.2s" in body["errors"][0]["message"]
        assert time.monotonic() - t < 0.9
