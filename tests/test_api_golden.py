"""GraphQL `entity { golden { ... } }` over HTTP on both stores: values, provenance,
alternatives, account golden records, and batching across a page of entities."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api_support import Api, open_api
from graphstore.golden import golden_of_ids
from graphstore.model import IdentifierRef, Record
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from graphstore.survivorship import load_survivorship


def rec(source: str, sid: str, ts: str, idents: list[tuple[str, str]], **attrs: str) -> Record:
    return Record(source=source, source_id=sid, attrs=dict(attrs), norm={},
                  identifiers=[IdentifierRef(k, v, k) for k, v in idents], updated_at=ts)


RECORDS = [
    rec("billing", "b1", "2020-01-01T00:00:00+00:00", [("email", "jane@acme.com"), ("payment_entity", "PE1"),
        ("domain", "acme.com")], full_name="Jane Doe", status="active", company="Acme Holdings Ltd"),
    rec("billing", "b2", "2025-01-01T00:00:00+00:00", [("email", "jane@acme.com"), ("payment_entity", "PE1")],
        full_name=" ", status=""),
    rec("crm", "c1", "2026-01-01T00:00:00+00:00", [("email", "jane@acme.com"), ("domain", "acme.com")],
        first_name="Janet", last_name="Doe", status="Prospect", company="ACME"),
    rec("crm", "c2", "2026-02-01T00:00:00+00:00", [("email", "bob@acme.com"), ("domain", "acme.com")],
        first_name="Bob", last_name="Ray", company="Acme Corp"),
]

ATTR = "value source record updatedAt rule records alternatives { value source record updatedAt records }"
QUERY = f"""query($id: ID!) {{ entity(id: $id) {{ id golden {{ version
    name {{ {ATTR} }} paymentStatus {{ {ATTR} }} contactStatus {{ {ATTR} }} email {{ value records }}
    domain {{ value }} paymentEntity {{ value }} attributes {{ attribute value rule }} }} }} }}"""


@pytest.fixture
def api(store: GraphStore) -> Iterator[Api]:
    store.upsert_records(RECORDS)
    Resolver(store).resolve(full=True)
    yield from open_api(store)


def test_person_golden_with_provenance_and_alternatives(api: Api) -> None:
    pid = api.entity_of("billing:b1")
    g = api.data(QUERY, {"id": pid})["entity"]["golden"]
    assert g["version"] == load_survivorship().config_version
    assert g["name"] == {
        "value": "Jane Doe", "source": "billing", "record": "billing:b1", "updatedAt": "2020-01-01T00:00:00+00:00",
        "rule": "source_priority", "records": 1,
        "alternatives": [{"value": "Janet Doe", "source": "crm", "record": "crm:c1",
                          "updatedAt": "2026-01-01T00:00:00+00:00", "records": 1}],
    }
    assert (g["paymentStatus"]["value"], g["paymentStatus"]["rule"], g["paymentStatus"]["alternatives"]) == (
        "active", "single_value", [])
    assert (g["contactStatus"]["value"], g["contactStatus"]["source"]) == ("Prospect", "crm")
    assert g["email"] == {"value": "jane@acme.com", "records": 3}
    assert g["domain"] is None and g["paymentEntity"] is None  # account attributes
    names = [a["attribute"] for a in g["attributes"]]
    assert names[:2] == ["name", "first_name"] and "payment_status" in names and "domain" not in names


def test_account_golden(api: Api) -> None:
    pid = api.entity_of("billing:b1")
    aid = api.store.accounts_of([pid])[pid]
    g = api.data(QUERY, {"id": aid})["entity"]["golden"]
    assert (g["name"]["value"], g["name"]["source"], g["name"]["rule"]) == ("Acme Holdings Ltd", "billing",
                                                                           "source_priority")
    assert {a["value"] for a in g["name"]["alternatives"]} == {"ACME", "Acme Corp"}
    assert g["domain"] == {"value": "acme.com"} and g["paymentEntity"] == {"value": "PE1"}
    assert g["contactStatus"] is None


def test_golden_on_a_page_of_entities_matches_the_store(api: Api) -> None:
    body = api.data("{ entities(first: 10) { edges { node { id golden { name { value source rule } } } } } }")
    nodes = [e["node"] for e in body["entities"]["edges"]]
    assert len(nodes) == 3  # two persons and one account
    expected = golden_of_ids(api.store, [n["id"] for n in nodes], load_survivorship())
    for n in nodes:
        v = expected[n["id"]].attributes["name"]
        assert n["golden"]["name"] == {"value": v.value, "source": v.source, "rule": v.rule}


def test_golden_of_unknown_entity_is_not_found(api: Api) -> None:
    body = api.gql(QUERY, {"id": "P-NOPE"})
    assert body["data"] is None or body["data"]["entity"] is None
