"""`entitystore keys create | list | revoke` and `entitystore serve` argument checks, on
both stores: a key is printed once and only its hash is stored, it works over HTTP until
revoked, and bad input is one line on stderr with exit code 2."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import hash_key
from api.commands import is_loopback
from cli_support import one_error_line, run, store_uri
from graphstore.store import GraphStore

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def uri(store_kind: str, store: GraphStore, tmp_path: Path) -> Iterator[str]:
    yield store_uri(store_kind, tmp_path)


def test_keys_create_prints_once_stores_hash_and_works_until_revoked(uri: str, store: GraphStore) -> None:
    code, out, _ = run(uri, "keys", "create", "--role", "steward", "--name", "ops desk")
    assert code == 0
    key = out.strip().splitlines()[-1]
    assert key.startswith("esk_") and len(key) > 40
    [record] = store.list_api_keys()
    assert record.key_hash == hash_key(key) and record.role == "steward" and record.name == "ops desk"
    assert key not in repr(record) and record.hint == key[-4:]

    code, listed, _ = run(uri, "keys", "list")
    assert code == 0 and record.id in listed and "ops desk" in listed and "steward" in listed
    assert key not in listed

    client_app = create_app(store, key_cache_ttl=0)
    with TestClient(client_app) as client:
        headers = {"Authorization": f"Bearer {key}"}
        r = client.post("/graphql", json={"query": "{ viewer { name role } }"}, headers=headers)
        assert r.json() == {"data": {"viewer": {"name": "ops desk", "role": "STEWARD"}}}

        code, out, _ = run(uri, "keys", "revoke", record.id)
        assert code == 0 and f"revoked {record.id}" in out
        r = client.post("/graphql", json={"query": "{ viewer { name } }"}, headers=headers)
        assert r.status_code == 401 and r.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    code, listed, _ = run(uri, "keys", "list")
    assert code == 0 and record.id not in listed
    code, listed, _ = run(uri, "keys", "list", "--all")
    assert code == 0 and record.id in listed


def test_keys_bad_input_is_one_line_exit_2(uri: str, store: GraphStore) -> None:
    code, _, err = run(uri, "keys", "create", "--role", "root", "--name", "x")
    assert code == 2 and "unknown role 'root'" in one_error_line(err) and "app, steward, auditor, admin" in err
    code, _, err = run(uri, "keys", "create", "--role", "app", "--name", "  ")
    assert code == 2 and "needs a name" in one_error_line(err)
    code, _, err = run(uri, "keys", "revoke", "key-nope")
    assert code == 2 and "no active API key 'key-nope'" in one_error_line(err)
    assert store.list_api_keys() == []


def test_serve_refuses_dev_mode_off_loopback_and_bad_ports(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'store.db'}"
    code, _, err = run(uri, "serve", "--dev", "--host", "0.0.0.0")
    assert code == 2 and "loopback" in one_error_line(err) and "0.0.0.0" in err
    code, _, err = run(uri, "serve", "--port", "70000")
    assert code == 2 and "70000" in one_error_line(err)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("10.0.0.5", False), ("::", False), ("example.com", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
