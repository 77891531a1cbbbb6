"""The API and its store over real HTTP (TestClient), on both stores: a store that is down
(at start, or lost mid-flight) answers STORE_UNAVAILABLE and recovers by itself, and
`resolveMany` of 1,000 keys costs a handful of store calls, not thousands.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_key
from api_support import build_graph, codes, open_api, person
from conftest import neo4j_uri
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from tcp_proxy import TcpProxy

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

RESOLVE = '{ resolve(source: "crm", sourceId: "1") { person { id } } }'


def _post(client: TestClient, key: str, query: str = RESOLVE) -> Any:
    return client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {key}"})


def _assert_unavailable(r: Any) -> None:
    assert r.status_code in (200, 503), r.text
    body = r.json()
    assert codes(body) == ["STORE_UNAVAILABLE"], body
    for leak in ("Traceback", os.environ.get("NEO4J_PASSWORD") or "\x00", "neo4j.exceptions", "sqlite3."):
        assert leak not in r.text


def _wait_until(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the API did not recover by itself in time"
        time.sleep(0.1)


@pytest.fixture
def outage(store_kind: str, store: GraphStore, tmp_path: Path) -> Iterator[tuple[str, Callable[[], None]]]:
    """A store URI that does not answer yet, and the function that brings it up.

    Neo4j: the URI points at a TCP proxy in front of the server, not started yet.
    SQLite: the URI points into a folder that does not exist yet (a volume not mounted);
    bringing it up moves a folder holding a copy of the graph into place.
    """
    if store_kind == "neo4j":
        target = urlsplit(neo4j_uri())
        proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 7687)
        try:
            yield f"bolt://127.0.0.1:{proxy.port}", proxy.start
        finally:
            proxy.stop()
        return
    mount = tmp_path / "mnt"

    def mount_copy() -> None:
        staging = tmp_path / "staging"
        staging.mkdir()
        with sqlite3.connect(str(tmp_path / "store.db")) as src, sqlite3.connect(str(staging / "store.db")) as dst:
            src.backup(dst)
        os.rename(staging, mount)

    yield f"sqlite:///{mount / 'store.db'}", mount_copy


def test_store_down_at_start_answers_store_unavailable_then_recovers(
    store: GraphStore, outage: tuple[str, Callable[[], None]]
) -> None:
    build_graph(store)
    key, _ = create_key(store, "app under outage", "app")
    ann = store.entity_of_records(["crm:1"])["crm:1"]
    uri, bring_up = outage
    app = create_app(uri)
    app.state.gateway.retry_every = 0.1
    with TestClient(app) as client:  # the server starts although the store is down
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.json()["code"] == "STORE_UNAVAILABLE"
        r = _post(client, key)
        _assert_unavailable(r)
        assert r.status_code == 503 and r.json()["data"] is None

        bring_up()
        _wait_until(lambda: client.get("/readyz").status_code == 200)
        body = _post(client, key).json()
        assert body == {"data": {"resolve": {"person": {"id": ann}}}}, body


@pytest.mark.parametrize("store_kind", [pytest.param("neo4j", marks=pytest.mark.neo4j)])
def test_neo4j_lost_mid_flight_answers_store_unavailable_then_recovers(store: GraphStore) -> None:
    build_graph(store)
    key, _ = create_key(store, "app under outage", "app")
    ann = store.entity_of_records(["crm:1"])["crm:1"]
    target = urlsplit(neo4j_uri())
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 7687)
    proxy.start()
    try:
        app = create_app(f"bolt://127.0.0.1:{proxy.port}")
        app.state.gateway.retry_every = 0.1
        with TestClient(app) as client:
            assert _post(client, key).json() == {"data": {"resolve": {"person": {"id": ann}}}}
            proxy.stop()  # the database host goes away under a running server
            started = time.monotonic()
            _assert_unavailable(_post(client, key))
            assert time.monotonic() - started < app.state.limits.timeout_s
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").status_code == 200

            proxy.start()
            _wait_until(lambda: client.get("/readyz").status_code == 200)
            _wait_until(lambda: _post(client, key).json() == {"data": {"resolve": {"person": {"id": ann}}}})
    finally:
        proxy.stop()


class CountingStore:
    """The real store, with every public method call counted (each is a store round trip,
    or a few for chunked key lists). Not a mock: the calls go through."""

    def __init__(self, store: GraphStore) -> None:
        self._store = store
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return counted


MANY = """query($k: [RecordKeyInput!]!) { resolveMany(keys: $k) {
  key resolved person { id kind displayName memberCount } account { id kind displayName } } }"""


def test_resolve_many_of_1000_keys_costs_a_handful_of_store_calls(store: GraphStore) -> None:
    records = [
        person("crm" if i % 2 else "billing", f"c{i}", f"name{i // 2} last{i // 2}",
               ("email", f"p{i // 2}@corp{i // 40}.example"), ("domain", f"corp{i // 40}.example"))
        for i in range(990)
    ]
    store.upsert_records(records)
    Resolver(store).resolve(full=True)
    counting = CountingStore(store)
    for api in open_api(counting):  # type: ignore[arg-type]
        def resolve_many(keys: list[dict[str, str]]) -> tuple[dict[str, Any], Counter[str]]:
            api.data("{ viewer { role } }", role="app")  # authenticated and cached before counting
            counting.calls.clear()
            body = api.gql(MANY, {"k": keys}, role="app")
            return body, Counter(counting.calls)

        keys = [{"source": r.source, "sourceId": r.source_id} for r in records]
        keys[500:500] = [{"source": "crm", "sourceId": f"missing{i}"} for i in range(10)]
        assert len(keys) == 1000
        body, calls = resolve_many(keys)

        items = body["data"]["resolveMany"]
        assert len(items) == 1000 and items[500:510] == [None] * 10
        assert [i["key"] for i in items[:500]] == [f"{r.source}:{r.source_id}" for r in records[:500]]
        assert all(i["resolved"] and i["person"]["memberCount"] == 2 for i in items if i is not None)
        assert items[0]["person"]["id"] == items[1]["person"]["id"] != items[2]["person"]["id"]
        assert items[0]["account"]["id"] == items[39]["account"]["id"]  # same corporate domain
        assert sorted(e["path"][1] for e in body["errors"]) == list(range(500, 510))
        assert {e["extensions"]["code"] for e in body["errors"]} == {"NOT_FOUND"}

        # a handful of batched calls (entities twice: persons, then their accounts) ...
        assert sum(calls.values()) <= 8, calls
        # ... and exactly the same calls for 10 keys (known and unknown) as for 1,000
        body, few = resolve_many(keys[495:505])
        assert [i and i["key"] for i in body["data"]["resolveMany"]][4:6] == ["crm:c499", None]
        assert few == calls, (few, calls)
