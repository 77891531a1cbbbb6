"""Shared by the API tests: a small resolved graph, one key per role, a GraphQL client.

The graph (resolved by the real Resolver, so evidence, history and accounts are what
production would hold):

- Ann Lee: crm:1, billing:7, support:3 (shared email, shared phone) -> one person
- Bob Ray: crm:2, product:u2 (shared email) -> one person; Ann and Bob share the
  account domain acme.com -> one account
- support:9 and support:10 share support@acme.com, a denied (hub) address -> apart
- product:k0..k6 share device tablet-9, carried by more records than allowed -> a hub
- billing:8 (Eve Ng, globex.com, PE2) whose parent payment entity is PE1 -> a child account
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import ROLES, create_key
from api.limits import Limits
from graphstore.model import IdentifierRef, Record
from graphstore.resolution import Resolver
from graphstore.store import GraphStore


def person(source: str, sid: str, name: str, *idents: tuple[str, str], **norm: str) -> Record:
    first, _, last = name.partition(" ")
    fields = {"first_name": first, "last_name": last, "full_name": name, **norm}
    return Record(
        source=source, source_id=sid, attrs={"name": name.title(), **norm}, norm=fields,
        identifiers=[IdentifierRef(k, v, k) for k, v in idents],
    )


RECORDS = [
    person("crm", "1", "ann lee", ("email", "ann@acme.com"), ("phone", "+14155550101"), ("domain", "acme.com")),
    person("billing", "7", "ann lee", ("email", "ann@acme.com"), ("payment_entity", "PE1"), ("domain", "acme.com")),
    person("support", "3", "ann lee", ("phone", "+14155550101")),
    person("crm", "2", "bob ray", ("email", "bob@acme.com"), ("domain", "acme.com")),
    person("product", "u2", "bob ray", ("email", "bob@acme.com"), ("user_id", "U2")),
    person("support", "9", "carl moe", ("email", "support@acme.com")),
    person("support", "10", "dee fox", ("email", "support@acme.com")),
    *[person("product", f"k{i}", f"user{i} kio{i}", ("device_id", "tablet-9")) for i in range(7)],
    person(
        "billing", "8", "eve ng", ("email", "eve@globex.com"), ("payment_entity", "PE2"), ("domain", "globex.com"),
        parent_payment_entity="PE1",
    ),
]


def build_graph(store: GraphStore) -> Resolver:
    store.upsert_records(RECORDS)
    resolver = Resolver(store)
    resolver.resolve(full=True)
    return resolver


@dataclass
class Api:
    """A TestClient over the app, with one key per role and helpers to call GraphQL."""

    client: TestClient
    store: GraphStore
    keys: dict[str, str] = field(default_factory=dict)

    def post(self, query: str, variables: dict[str, Any] | None = None, role: str | None = "admin",
             token: str | None = None) -> Any:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        elif role is not None:
            headers["Authorization"] = f"Bearer {self.keys[role]}"
        return self.client.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    def gql(self, query: str, variables: dict[str, Any] | None = None, role: str | None = "admin",
            token: str | None = None) -> dict[str, Any]:
        response = self.post(query, variables, role, token)
        body = response.json()
        assert "Traceback" not in response.text
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None, role: str = "admin") -> dict[str, Any]:
        body = self.gql(query, variables, role)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    def entity_of(self, key: str) -> str:
        eid = self.store.entity_of_records([key]).get(key)
        assert eid is not None, key
        return eid


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors") or []]


def open_api(store: GraphStore, limits: Limits | None = None, dev: bool = False, **kwargs: Any) -> Iterator[Api]:
    keys = {role: create_key(store, f"test {role}", role)[0] for role in ROLES}
    app = create_app(store, limits=limits, dev=dev, **kwargs)
    with TestClient(app) as client:
        yield Api(client, store, keys)
