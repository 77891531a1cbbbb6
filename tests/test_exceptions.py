"""Exception reports: each kind on a graph built to contain (and not contain) its cases,
and every kind on generated data checked against an independent recomputation. Both stores."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from graphstore.exceptions import KINDS, UnknownKind, exceptions
from graphstore.metrics import ExceptionPolicy, load_metrics
from graphstore.model import IdentifierRef, Record
from graphstore.resolution import Resolver
from graphstore.rules import load_rules
from graphstore.store import GraphStore
from loaders.generate import generate
from loaders.load import load_folder

AS_OF = "2025-06-30T00:00:00+00:00"


def rec(source: str, sid: str, name: str, *idents: tuple[str, str], updated: str | None = "2025-06-01T00:00:00+00:00",
        **norm: str) -> Record:
    first, _, last = name.partition(" ")
    return Record(
        source=source, source_id=sid, attrs={"full_name": name}, updated_at=updated,
        norm={"first_name": first, "last_name": last, "full_name": name, **norm},
        identifiers=[IdentifierRef(k, v, k) for k, v in idents],
    )


RECORDS = [
    # ann: crm says company "acme", billing "acme corp" -> a cross-source conflict
    rec("crm", "1", "ann lee", ("email", "ann@acme.com"), ("domain", "acme.com"), company="acme"),
    rec("billing", "7", "ann lee", ("email", "ann@acme.com"), ("payment_entity", "PE1"), company="acme corp",
        updated="2019-01-01T00:00:00+00:00"),
    # seb: accents only differ across sources -> no conflict; crm disagrees with itself -> no conflict
    rec("crm", "2", "sébastien roy", ("email", "seb@roy.fr"), company="roy sa"),
    rec("crm", "3", "sébastien roy", ("email", "seb@roy.fr"), company="roy"),
    rec("support", "2", "Sebastien  Roy", ("email", "seb@roy.fr"), updated=None),
    # support@ is a denied address (a hub at any degree); tablet-9 is carried by 7 records (> 6)
    rec("support", "9", "carl moe", ("email", "support@acme.com")),
    rec("support", "10", "dee fox", ("email", "support@acme.com")),
    *[rec("product", f"k{i}", f"user{i} kio{i}", ("device_id", "tablet-9"), ("user_id", f"u{i}")) for i in range(7)],
    # bob: same name and domain, no person evidence -> near miss 0.9; eve/ned share only a phone -> 0.8
    rec("crm", "20", "bob ray", ("email", "bob@acme.com"), ("domain", "acme.com")),
    rec("support", "20", "bob ray", ("email", "robert@acme.com"), ("domain", "acme.com")),
    rec("crm", "30", "eve ng", ("email", "eve@x.org"), ("phone", "+14155550130")),
    rec("support", "30", "ned oak", ("email", "ned@y.org"), ("phone", "+14155550130")),
]

POLICY = ExceptionPolicy(
    critical_attributes=("company", "full_name"),
    stale_days=365,
    stale_days_by_source={"crm": 10_000},
    required_identifiers={"crm": ("email", "phone"), "product": ("user_id",)},
)


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    store.upsert_records(RECORDS)
    Resolver(store).resolve(full=True)
    return store


def test_conflicting_attributes(graph: GraphStore) -> None:
    items = exceptions(graph, "conflicting_attributes", POLICY)
    ann = graph.entity_of_records(["crm:1"])["crm:1"]
    assert [i.key for i in items] == [f"{ann}:company"]
    assert items[0].details["values"] == {"acme": ["crm:1"], "acme corp": ["billing:7"]}
    assert items[0].record_keys == ("billing:7", "crm:1") and items[0].entity_ids == (ann,)


def test_stale_records(graph: GraphStore) -> None:
    items = exceptions(graph, "stale_records", POLICY, as_of=AS_OF)
    # support:2 has no update time (listed first); billing:7 is 6.5 years old; crm's limit is 10,000 days
    assert [i.key for i in items] == ["support:2", "billing:7"]
    assert items[1].details["days"] == (datetime(2025, 6, 30, tzinfo=timezone.utc) - datetime(2019, 1, 1, tzinfo=timezone.utc)).days
    assert exceptions(graph, "stale_records", POLICY.model_copy(update={"stale_days": 10_000}), as_of=AS_OF)[0].key == "support:2"


def test_missing_identifiers(graph: GraphStore) -> None:
    items = exceptions(graph, "missing_identifiers", POLICY)
    crm_without_phone = ["crm:1", "crm:2", "crm:20", "crm:3"]
    assert [i.key for i in items] == sorted(crm_without_phone)
    assert all(i.details["missing"] == ["phone"] for i in items)


def test_hub_identifiers(graph: GraphStore) -> None:
    items = exceptions(graph, "hub_identifiers", POLICY)
    assert [(i.key, i.score) for i in items] == [("device_id:tablet-9", 7.0), ("email:support@acme.com", 2.0)]
    assert "more than 6" in items[0].summary and "deny pattern" in items[1].summary
    assert items[1].record_keys == ("support:10", "support:9")
    assert len(set(items[0].entity_ids)) == 7  # the hub merged nobody


def test_near_misses_review_queue(graph: GraphStore) -> None:
    items = exceptions(graph, "near_misses", POLICY)
    assert [i.key for i in items] == ["crm:20|support:20", "crm:30|support:30"]
    assert [i.score for i in items] == pytest.approx([0.9, 0.8])
    assert all(len(set(i.entity_ids)) == 2 for i in items)
    assert items[0].details["gap"] == pytest.approx(0.1)


def test_unknown_kind_names_the_kinds(sqlite_store: GraphStore) -> None:
    with pytest.raises(UnknownKind, match="expected one of: conflicting_attributes, stale_records"):
        exceptions(sqlite_store, "stale")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out, records=1500, seed=3)
    return out


def test_every_kind_on_generated_data(store: GraphStore, generated: Path) -> None:
    load_folder(store, generated)
    Resolver(store).resolve(full=True)
    policy, rules = load_metrics().exceptions, load_rules()
    records = {r.key: r for r in store.iter_records()}
    found = {k: exceptions(store, k, policy, rules, as_of=AS_OF) for k in KINDS}
    assert all(found[k] for k in KINDS), {k: len(v) for k, v in found.items()}
    for items in found.values():
        assert len({i.key for i in items}) == len(items)

    # stale: exactly the records older than their source's limit
    now = datetime.fromisoformat(AS_OF)
    expect = {
        k for k, r in records.items()
        if r.updated_at is None
        or (now - datetime.fromisoformat(r.updated_at)).total_seconds() / 86400 > policy.stale_days_for(r.source)
    }
    assert {i.key for i in found["stale_records"]} == expect
    ages = [i.score for i in found["stale_records"] if i.score is not None]
    assert ages == sorted(ages, reverse=True)

    # missing identifiers: exactly the records lacking a required kind
    expect = {
        k for k, r in records.items()
        if set(policy.required_identifiers.get(r.source, ())) - {i.kind for i in r.identifiers}
    }
    assert {i.key for i in found["missing_identifiers"]} == expect

    # hubs: every listed identifier is guarded by the rules, and none carrying a guard is missed
    degrees: dict[str, int] = {}
    for r in records.values():
        for ik in {i.key for i in r.identifiers}:
            degrees[ik] = degrees.get(ik, 0) + 1
    expect = {ik for ik, d in degrees.items() if rules.is_hub(ik.partition(":")[0], ik.partition(":")[2], d)}
    assert {i.key for i in found["hub_identifiers"]} == expect

    # near misses: under the threshold, above the floor, across entities, best first
    scores = [i.score for i in found["near_misses"]]
    assert scores == sorted(scores, reverse=True)
    assert all(rules.near_miss_floor <= (s or 0) < rules.threshold for s in scores)
    assert all(len(set(i.entity_ids)) == 2 for i in found["near_misses"])

    # conflicts: each listed pair of values really comes from two sources of one entity
    members = store.all_memberships()
    for item in found["conflicting_attributes"]:
        assert {members[k] for k in item.record_keys} == set(item.entity_ids)
        assert len(item.details["values"]) >= 2 and len(item.details["sources"]) >= 2
