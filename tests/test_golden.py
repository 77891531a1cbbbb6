"""Golden records over a real store (both backends): conflict cases on resolved entities,
and the shipped rules on generated sample data."""

from __future__ import annotations

from pathlib import Path

import pytest

from graphstore.golden import golden_for, golden_of_ids, member_records_of
from graphstore.model import ACCOUNT, PERSON, IdentifierRef, Record
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from graphstore.survivorship import MOST_RECENT, SINGLE_VALUE, SOURCE_PRIORITY, load_survivorship

CONFIG = load_survivorship()


def rec(source: str, sid: str, ts: str, idents: list[tuple[str, str, str]], **attrs: object) -> Record:
    norm = {}
    if "full_name" in attrs or "first_name" in attrs:
        full = str(attrs.get("full_name") or f"{attrs.get('first_name', '')} {attrs.get('last_name', '')}").strip()
        first, _, last = full.lower().partition(" ")
        norm = {"full_name": full.lower(), "first_name": first, "last_name": last}
    return Record(source=source, source_id=sid, attrs=dict(attrs), norm=norm,
                  identifiers=[IdentifierRef(*i) for i in idents], updated_at=ts)


JANE = [
    # billing: older, high priority for name and payment status
    rec("billing", "b1", "2020-01-01T00:00:00+00:00", [("email", "jane@acme.com", "email"),
        ("payment_entity", "PE1", "payment_entity"), ("domain", "acme.com", "email")],
        full_name="Jane Doe", status="active", company="Acme Holdings Ltd"),
    # billing again, newer, but its status and name are empty: must not overwrite
    rec("billing", "b2", "2025-01-01T00:00:00+00:00", [("email", "jane@acme.com", "email"),
        ("payment_entity", "PE1", "payment_entity")], status="  "),
    # CRM: newest, lower priority for name and payment status, owns contact status
    rec("crm", "c1", "2026-01-01T00:00:00+00:00", [("email", "jane@acme.com", "email"),
        ("domain", "acme.com", "website")], first_name="Janet", last_name="Doe", status="Prospect",
        company="ACME", title="CTO"),
]


def _person_of(store: GraphStore, key: str) -> str:
    return store.entity_of_records([key])[key]


def test_conflicts_resolve_by_rules_on_a_resolved_person(store: GraphStore) -> None:
    store.upsert_records(JANE)
    Resolver(store).resolve(full=True)
    pid = _person_of(store, "billing:b1")
    assert {_person_of(store, k) for k in ("billing:b2", "crm:c1")} == {pid}
    g = golden_of_ids(store, [pid], CONFIG)[pid]
    assert g.kind == PERSON and g.version == CONFIG.config_version
    name = g.attributes["name"]
    # a lower-priority newer value does not win; the empty newer billing name is no candidate
    assert (name.value, name.source, name.record, name.rule) == ("Jane Doe", "billing", "billing:b1", SOURCE_PRIORITY)
    assert [(a.value, a.source, a.record) for a in name.alternatives] == [("Janet Doe", "crm", "crm:c1")]
    pay = g.attributes["payment_status"]
    assert (pay.value, pay.record, pay.rule, pay.alternatives) == ("active", "billing:b1", SINGLE_VALUE, ())
    assert (g.attributes["contact_status"].value, g.attributes["contact_status"].source) == ("Prospect", "crm")
    assert g.attributes["title"].value == "CTO"
    email = g.attributes["email"]
    assert (email.value, email.records, email.source) == ("jane@acme.com", 3, "crm")


def test_record_update_changes_the_golden_record_without_a_sync_storm(store: GraphStore) -> None:
    store.upsert_records(JANE)
    resolver = Resolver(store)
    resolver.resolve(full=True)
    # billing b1 is updated: new status; CRM c1 is updated with a newer name; b2 gets a newer status
    store.upsert_records([
        rec("billing", "b1", "2024-01-01T00:00:00+00:00", [("email", "jane@acme.com", "email"),
            ("payment_entity", "PE1", "payment_entity")], full_name="Jane Doe", status="past_due"),
        rec("crm", "c1", "2027-01-01T00:00:00+00:00", [("email", "jane@acme.com", "email")],
            first_name="Jane", last_name="Roe", status="", company="ACME"),
        rec("billing", "b2", "2025-01-01T00:00:00+00:00", [("email", "jane@acme.com", "email"),
            ("payment_entity", "PE1", "payment_entity")], status="canceled"),
    ])
    resolver.resolve()
    pid = _person_of(store, "billing:b1")
    g = golden_of_ids(store, [pid], CONFIG)[pid]
    assert (g.attributes["name"].value, g.attributes["name"].source) == ("Jane Doe", "billing")
    pay = g.attributes["payment_status"]
    assert (pay.value, pay.record, pay.rule) == ("canceled", "billing:b2", MOST_RECENT)
    assert [a.value for a in pay.alternatives] == ["past_due"]
    # the CRM now sends an empty status: the contact status is gone only because no
    # record carries one any more, not because an empty value won
    assert "contact_status" not in g.attributes


def test_account_golden_draws_on_all_persons_of_the_account(store: GraphStore) -> None:
    bob = rec("crm", "c2", "2026-02-01T00:00:00+00:00", [("email", "bob@acme.com", "email"),
              ("domain", "acme.com", "website")], first_name="Bob", last_name="Ray", company="Acme Corp")
    store.upsert_records([*JANE, bob])
    Resolver(store).resolve(full=True)
    jane, bob_id = _person_of(store, "billing:b1"), _person_of(store, "crm:c2")
    assert jane != bob_id
    aid = store.accounts_of([jane])[jane]
    assert store.accounts_of([bob_id])[bob_id] == aid
    assert sorted(member_records_of(store, list(store.get_entities([aid]).values()))[aid]) == sorted(
        ["billing:b1", "billing:b2", "crm:c1", "crm:c2"])
    g = golden_of_ids(store, [aid], CONFIG)[aid]
    assert g.kind == ACCOUNT
    assert (g.attributes["name"].value, g.attributes["name"].rule) == ("Acme Holdings Ltd", SOURCE_PRIORITY)
    assert {a.value for a in g.attributes["name"].alternatives} == {"ACME", "Acme Corp"}
    assert (g.attributes["domain"].value, g.attributes["domain"].source) == ("acme.com", "crm")
    assert g.attributes["payment_entity"].value == "PE1"
    assert "title" not in g.attributes and "contact_status" not in g.attributes


def test_shipped_rules_on_generated_data(store: GraphStore, tmp_path: Path) -> None:
    from loaders.generate import generate
    from loaders.load import load_folder

    generate(tmp_path / "data", records=1500, seed=3)
    load_folder(store, tmp_path / "data")
    Resolver(store).resolve(full=True)
    persons = store.list_entities(kind=PERSON, limit=5000)
    accounts = store.list_entities(kind=ACCOUNT, limit=5000)
    assert persons and accounts
    golden = golden_for(store, persons + accounts, CONFIG)
    members = member_records_of(store, persons)
    records = store.get_records({k for ks in members.values() for k in ks})
    checked_billing = 0
    for p in persons:
        g = golden[p.id]
        recs = [records[k] for k in members[p.id]]
        named = any(r.attrs.get(f) for r in recs for f in ("full_name", "first_name", "last_name"))
        assert ("name" in g.attributes) == named, p.id  # a name survives exactly when a record has one
        for attr, v in g.attributes.items():
            assert v.record in members[p.id] and v.source == v.record.partition(":")[0]
            assert v.value.strip() and v.value not in {a.value for a in v.alternatives}
        billing_status = [r for r in recs if r.source == "billing" and r.attrs.get("status")]
        if billing_status:
            checked_billing += 1
            newest = max(billing_status, key=lambda r: (r.updated_at or "", r.key))
            assert g.attributes["payment_status"].source == "billing"
            assert g.attributes["payment_status"].value in {r.attrs["status"] for r in billing_status}
            if len({r.attrs["status"] for r in billing_status}) > 1:
                assert g.attributes["payment_status"].updated_at == newest.updated_at
        else:
            assert "payment_status" not in g.attributes
        if any(r.source == "billing" and r.attrs.get("full_name") for r in recs):
            assert g.attributes["name"].source == "billing"
    assert checked_billing > 20
    with_billing = 0
    for a in accounts:
        g = golden[a.id]
        assert g.kind == ACCOUNT and ("domain" in g.attributes or "payment_entity" in g.attributes)
        if "payment_entity" in g.attributes:
            with_billing += 1
            assert g.attributes["name"].source == "billing"
    assert with_billing > 10


def test_golden_of_unknown_ids_is_empty(store: GraphStore) -> None:
    assert golden_of_ids(store, ["P-NOPE"], CONFIG) == {}


@pytest.mark.parametrize("kind", [PERSON, ACCOUNT])
def test_entity_without_members_has_an_empty_golden_record(store: GraphStore, kind: str) -> None:
    from graphstore.model import Entity

    store.upsert_entities([Entity("X-1", kind, {"name": "lonely"})])
    g = golden_of_ids(store, ["X-1"], CONFIG)["X-1"]
    assert g.attributes == {} and g.kind == kind
