"""The GraphStore contract: the same tests against the embedded store and Neo4j.

Anything loaders, resolution or the API rely on from storage is pinned here, so a
backend that passes this file can replace the other without the callers noticing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphstore.model import (
    CANNOT_LINK,
    ApiKey,
    LINK,
    MATCH,
    NEAR_MISS,
    Entity,
    EntityEvent,
    EvidenceItem,
    IdentifierRef,
    MatchEdge,
    Override,
    QuarantineRow,
    Record,
    Run,
)
from graphstore.store import GraphStore, StoreUnavailable


def rec(source: str, sid: str, *idents: tuple[str, str], **attrs: str) -> Record:
    return Record(
        source=source,
        source_id=sid,
        attrs=dict(attrs),
        norm={k: v.lower() for k, v in attrs.items()},
        identifiers=[IdentifierRef(k, v, field=k) for k, v in idents],
        updated_at="2026-01-01T00:00:00+00:00",
        batch_id="b1",
    )


def test_info_and_empty_counts(store: GraphStore) -> None:
    info = store.info()
    assert info.backend in ("sqlite", "neo4j")
    assert info.version
    counts = store.counts()
    for key in ("records", "identifiers", "entities", "has", "matched", "events", "quarantined"):
        assert counts[key] == 0, key


def test_upsert_insert_then_unchanged_then_update(store: GraphStore) -> None:
    a = rec("crm", "1", ("email", "ann@acme.com"), first_name="Ann")
    b = rec("billing", "9", ("email", "ann@acme.com"), ("payment_entity", "PE1"), first_name="Ann")
    r1 = store.upsert_records([a, b])
    assert sorted(r1.inserted) == ["billing:9", "crm:1"]
    assert r1.updated == r1.unchanged == []

    r2 = store.upsert_records([rec("crm", "1", ("email", "ann@acme.com"), first_name="Ann")])
    assert r2.unchanged == ["crm:1"] and r2.inserted == r2.updated == []
    assert store.get_record("crm:1").loaded_at == store.get_records(["crm:1"])["crm:1"].loaded_at

    changed = rec("crm", "1", ("email", "ann@other.org"), first_name="Annie")
    r3 = store.upsert_records([changed])
    assert r3.updated == ["crm:1"]
    got = store.get_record("crm:1")
    assert got.attrs == {"first_name": "Annie"}
    assert [i.key for i in got.identifiers] == ["email:ann@other.org"]
    assert got.history and got.history[-1]["content_hash"] == a.content_hash
    assert got.content_hash == changed.content_hash


def test_identifier_nodes_are_shared_and_degree_tracks_links(store: GraphStore) -> None:
    store.upsert_records(
        [
            rec("crm", "1", ("email", "x@acme.com")),
            rec("support", "7", ("email", "x@acme.com"), ("phone", "+441234")),
            rec("product", "u1", ("email", "x@acme.com")),
        ]
    )
    ids = store.get_identifiers(["email:x@acme.com", "phone:+441234", "email:nobody@x"])
    assert ids["email:x@acme.com"].degree == 3
    assert ids["phone:+441234"].degree == 1
    assert "email:nobody@x" not in ids
    assert store.counts()["identifiers"] == 2
    assert store.counts()["has"] == 4

    sharing = store.records_with_identifiers(["email:x@acme.com", "email:none@x"])
    assert sharing["email:x@acme.com"] == ["crm:1", "product:u1", "support:7"]
    assert sharing["email:none@x"] == []
    assert store.records_with_identifiers(["email:x@acme.com"], limit=2)["email:x@acme.com"] == [
        "crm:1",
        "product:u1",
    ]

    # moving one record off the identifier lowers the degree; the last one removes the node
    store.upsert_records([rec("support", "7", ("phone", "+441234"))])
    assert store.get_identifiers(["email:x@acme.com"])["email:x@acme.com"].degree == 2
    store.upsert_records([rec("support", "7")])
    assert store.get_identifiers(["phone:+441234"]) == {}


def test_same_identifier_in_two_fields_counts_one_record(store: GraphStore) -> None:
    r = Record(
        source="crm",
        source_id="1",
        identifiers=[IdentifierRef("email", "a@b.com", "email"), IdentifierRef("email", "a@b.com", "work_email")],
    )
    store.upsert_records([r])
    assert store.get_identifiers(["email:a@b.com"])["email:a@b.com"].degree == 1
    got = store.get_record("crm:1")
    assert sorted(i.field for i in got.identifiers) == ["email", "work_email"]


def test_identifiers_of_records_and_hubs(store: GraphStore) -> None:
    store.upsert_records(
        [rec("support", str(i), ("device_id", "KIOSK"), ("email", f"p{i}@acme.com")) for i in range(5)]
    )
    of = store.identifiers_of_records(["support:0", "support:404"])
    assert {(i.key, i.degree) for i in of["support:0"]} == {("device_id:KIOSK", 5), ("email:p0@acme.com", 1)}
    assert of["support:404"] == []
    hubs = store.hub_identifiers(min_degree=3)
    assert [(h.key, h.degree) for h in hubs] == [("device_id:KIOSK", 5)]


def test_record_roundtrip_keeps_everything(store: GraphStore) -> None:
    r = Record(
        source="crm",
        source_id="0031x:7",  # ids may themselves contain colons
        attrs={"first_name": "Zoë", "tags": ["a", "b"], "score": 3},
        norm={"first_name": "zoe"},
        identifiers=[IdentifierRef("email", "zoe@acme.com", "email")],
        updated_at="2025-05-01T10:00:00+00:00",
        batch_id="batch-7",
    )
    store.upsert_records([r])
    got = store.get_record("crm:0031x:7")
    assert got is not None
    assert (got.source, got.source_id) == ("crm", "0031x:7")
    assert got.attrs == r.attrs and got.norm == r.norm
    assert got.updated_at == r.updated_at and got.batch_id == "batch-7" and got.loaded_at
    assert got.content_hash == r.content_hash
    assert store.record_hashes(["crm:0031x:7", "crm:nope"]) == {"crm:0031x:7": r.content_hash}
    assert store.get_record("crm:nope") is None


def test_upsert_encoded_stores_what_upsert_records_would(store: GraphStore) -> None:
    a = rec("crm", "1", ("email", "a@x.org"), first_name="Ann")
    b = rec("crm", "2", ("email", "a@x.org"), ("phone", "+14155550123"), first_name="Bo")
    first = store.upsert_encoded([a.encoded(), b.encoded()])
    assert (sorted(first.inserted), first.updated, first.unchanged) == (["crm:1", "crm:2"], [], [])
    assert store.upsert_encoded([a.encoded()]).unchanged == ["crm:1"]
    changed = rec("crm", "2", ("phone", "+14155550123"), first_name="Bob")
    assert store.upsert_encoded([changed.encoded()]).updated == ["crm:2"]
    got = store.get_records(["crm:1", "crm:2"])
    assert got["crm:1"].attrs == a.attrs and got["crm:1"].norm == a.norm and got["crm:1"].content_hash == a.content_hash
    assert got["crm:2"].attrs == changed.attrs and got["crm:2"].content_hash == changed.content_hash
    assert [i.key for i in got["crm:2"].identifiers] == ["phone:+14155550123"]
    assert [h["content_hash"] for h in got["crm:2"].history] == [b.content_hash]
    assert got["crm:1"].loaded_at and got["crm:1"].batch_id == "b1"
    assert store.get_identifiers(["email:a@x.org"])["email:a@x.org"].degree == 1


def test_iter_records_streams_all_in_key_order(store: GraphStore) -> None:
    store.upsert_records([rec("crm", f"{i:03d}", ("email", f"e{i}@x.com")) for i in range(25)])
    store.upsert_records([rec("billing", "1")])
    keys = [r.key for r in store.iter_records(batch_size=7)]
    assert keys == sorted(keys) and len(keys) == 26
    crm = list(store.iter_records(source="crm", batch_size=10))
    assert len(crm) == 25 and all(r.identifiers for r in crm)
    assert store.source_counts() == {"billing": 1, "crm": 25}


def test_a_source_is_its_own_records_even_when_its_name_begins_another(store: GraphStore) -> None:
    """Sources named "a", "a-b" and "ab": '-' sorts before ':' and 'b' after it, so the
    key order of their records differs from the order of the names."""
    store.upsert_records([rec("a", "1"), rec("a", "2"), rec("a-b", "1"), rec("ab", "1"), rec("ab", "2"), rec("ab", "3")])
    assert [r.key for r in store.iter_records(source="a", batch_size=1)] == ["a:1", "a:2"]
    assert [r.key for r in store.iter_records(source="a-b")] == ["a-b:1"]
    assert [r.key for r in store.iter_records(source="ab", batch_size=2)] == ["ab:1", "ab:2", "ab:3"]
    assert list(store.iter_records(source="b")) == []
    assert store.source_counts() == {"a": 2, "a-b": 1, "ab": 3}
    assert list(store.source_counts()) == ["a", "a-b", "ab"]


def test_matches_are_keyed_by_unordered_pair(store: GraphStore) -> None:
    ev = [EvidenceItem("email", 0.9, value="x@acme.com"), EvidenceItem("name", 0.2, left="Jon", right="John", similarity=0.93)]
    store.write_matches([MatchEdge("crm:2", "crm:1", 1.1, "rules-v1", ev, MATCH, "run1")])
    store.write_matches([MatchEdge("crm:1", "crm:2", 1.3, "rules-v2", ev[:1], MATCH, "run2")])
    m = store.get_match("crm:2", "crm:1")
    assert m is not None and (m.a, m.b) == ("crm:1", "crm:2")
    assert m.score == pytest.approx(1.3) and m.rule_version == "rules-v2" and m.run_id == "run2"
    assert m.evidence == ev[:1]
    assert store.counts()["matched"] == 1

    store.write_matches([MatchEdge("crm:2", "crm:3", 0.6, "rules-v2", [ev[1]], NEAR_MISS)])
    assert [e.pair for e in store.matches_for(["crm:2"])] == [("crm:1", "crm:2"), ("crm:2", "crm:3")]
    assert [e.pair for e in store.matches_for(["crm:2"], decision=NEAR_MISS)] == [("crm:2", "crm:3")]
    near = store.matches_for(["crm:3"])[0]
    assert near.evidence[0].similarity == pytest.approx(0.93) and near.evidence[0].left == "Jon"
    assert store.counts()["near_misses"] == 1
    assert [e.pair for e in store.iter_matches(batch_size=1)] == [("crm:1", "crm:2"), ("crm:2", "crm:3")]
    assert [e.pair for e in store.iter_matches(decision=MATCH)] == [("crm:1", "crm:2")]

    assert store.delete_matches_touching(["crm:1"]) == 1
    assert store.get_match("crm:1", "crm:2") is None
    assert store.matches_for(["crm:2"])[0].pair == ("crm:2", "crm:3")


def test_replace_all_matches_leaves_exactly_the_new_edges(store: GraphStore) -> None:
    store.write_matches([MatchEdge("crm:1", "crm:2", 1.1, "v1"), MatchEdge("crm:2", "crm:3", 0.7, "v1", decision=NEAR_MISS)])
    new = [MatchEdge("crm:3", "crm:4", 1.2, "v2"), MatchEdge("crm:1", "crm:4", 0.8, "v2", decision=NEAR_MISS)]
    store.replace_all_matches(new, ["crm:1", "crm:2", "crm:3", "crm:4"])
    assert store.get_match("crm:1", "crm:2") is None
    assert [(e.a, e.b, e.decision) for e in store.matches_for(["crm:4"])] == [
        ("crm:1", "crm:4", NEAR_MISS), ("crm:3", "crm:4", MATCH)
    ]
    assert [e.pair for e in store.iter_matches(decision=MATCH)] == [("crm:3", "crm:4")]
    store.write_matches([MatchEdge("crm:2", "crm:4", 1.0, "v2")])  # normal writes go on after it
    assert {e.pair for e in store.matches_for(["crm:4"], decision=MATCH)} == {("crm:3", "crm:4"), ("crm:2", "crm:4")}


def test_replace_matches_touching_is_delete_then_write(store: GraphStore) -> None:
    store.write_matches([
        MatchEdge("crm:1", "crm:2", 1.1, "v1"), MatchEdge("crm:2", "crm:3", 0.6, "v1", decision=NEAR_MISS),
        MatchEdge("crm:4", "crm:5", 1.0, "v1"),
    ])  # fmt: skip
    new = [MatchEdge("crm:1", "crm:3", 1.4, "v2", run_id="r2"), MatchEdge("crm:2", "crm:1", 0.9, "v2", decision=NEAR_MISS)]
    store.replace_matches_touching(["crm:1", "crm:2"], new)
    assert [(e.pair, e.decision, e.rule_version) for e in store.iter_matches()] == [
        (("crm:1", "crm:2"), NEAR_MISS, "v2"), (("crm:1", "crm:3"), MATCH, "v2"), (("crm:4", "crm:5"), MATCH, "v1")
    ]
    store.replace_matches_touching(["crm:9"], [])
    c = store.counts()
    assert (c["matched"], c["near_misses"]) == (2, 1)


def test_match_edge_rejects_self_pair() -> None:
    with pytest.raises(ValueError):
        MatchEdge("crm:1", "crm:1", 1.0, "v1")


def test_entities_memberships_and_hierarchy(store: GraphStore) -> None:
    store.upsert_records([rec("crm", "1"), rec("crm", "2"), rec("billing", "1")])
    store.upsert_entities(
        [
            Entity("P1", "person", {"name": "Ann"}),
            Entity("A1", "account", {"name": "Acme"}),
            Entity("A0", "account", {"name": "Acme Group"}),
        ]
    )
    store.set_memberships({"crm:1": "P1", "crm:2": "P1", "billing:1": "P1"})
    store.set_account_links({"P1": "A1"})
    store.set_parent_links({"A1": "A0"})

    assert store.get_entities(["P1", "ZZ"])["P1"].attrs == {"name": "Ann"}
    assert store.members_of(["P1", "A1"]) == {"P1": ["billing:1", "crm:1", "crm:2"], "A1": []}
    assert store.entity_of_records(["crm:1", "crm:9"]) == {"crm:1": "P1"}
    assert store.accounts_of(["P1"]) == {"P1": "A1"}
    assert store.persons_of(["A1"]) == {"A1": ["P1"]}
    assert store.parents_of(["A1", "A0"]) == {"A1": "A0"}
    assert store.children_of(["A0"]) == {"A0": ["A1"]}
    assert store.all_memberships() == {"crm:1": "P1", "crm:2": "P1", "billing:1": "P1"}
    c = store.counts()
    assert (c["persons"], c["accounts"], c["member_of"], c["belongs_to"], c["child_of"]) == (1, 2, 3, 1, 1)

    store.set_memberships({"crm:2": None})
    assert store.members_of(["P1"])["P1"] == ["billing:1", "crm:1"]
    store.upsert_entities([Entity("P1", "person", {"name": "Ann B"})])
    assert store.get_entities(["P1"])["P1"].attrs == {"name": "Ann B"}

    store.delete_entities(["A1"])
    assert store.accounts_of(["P1"]) == {} and store.parents_of(["A1"]) == {}
    assert store.get_entities(["A1"]) == {}


def test_region_step_reads_entities_members_accepted_edges_and_active_overrides(store: GraphStore) -> None:
    store.upsert_records([rec("crm", str(i)) for i in range(1, 7)])
    store.upsert_entities([Entity("P1", "person"), Entity("P2", "person")])
    store.set_memberships({"crm:1": "P1", "crm:2": "P1", "crm:3": "P2", "crm:4": "P2"})
    store.write_matches([
        MatchEdge("crm:1", "crm:5", 1.2, "v1"), MatchEdge("crm:1", "crm:6", 0.5, "v1", decision=NEAR_MISS),
        MatchEdge("crm:3", "crm:4", 1.1, "v1"),
    ])  # fmt: skip
    store.add_override(Override("o1", LINK, "crm:6", "crm:1", "ann", "same", "2026-01-02T00:00:00+00:00"))
    store.add_override(Override("o0", CANNOT_LINK, "crm:2", "crm:5", "ann", "not", "2026-01-01T00:00:00+00:00"))
    store.add_override(Override("o2", LINK, "crm:3", "crm:4", "ann", "same", "2026-01-03T00:00:00+00:00"))
    store.remove_override("o0", "bob", "wrong", "2026-01-04T00:00:00+00:00")

    step = store.region_step(["crm:1", "crm:5"])
    assert step.entity_of == {"crm:1": "P1"}
    assert step.members == {"P1": ["crm:1", "crm:2"]}
    assert [(e.pair, e.score) for e in step.matches] == [(("crm:1", "crm:5"), pytest.approx(1.2))]
    assert [o.id for o in step.overrides] == ["o1"]

    both = store.region_step(["crm:4", "crm:2", "crm:3"])
    assert both.entity_of == {"crm:2": "P1", "crm:3": "P2", "crm:4": "P2"}
    assert both.members == {"P1": ["crm:1", "crm:2"], "P2": ["crm:3", "crm:4"]}
    assert [e.pair for e in both.matches] == [("crm:3", "crm:4")]  # once, though both ends asked
    assert [o.id for o in both.overrides] == ["o2"]
    empty = store.region_step(["crm:9"])
    assert (empty.entity_of, empty.members, empty.matches, empty.overrides) == ({}, {}, [], [])


def test_records_and_identifiers_equal_the_two_reads(store: GraphStore) -> None:
    store.upsert_records([
        rec("crm", "1", ("email", "a@x.com"), ("phone", "+1"), first_name="Ann"),
        rec("crm", "2", ("email", "a@x.com")), rec("billing", "1"),
    ])  # fmt: skip
    store.set_blocks({"crm:9": ["b"]})  # a stub record: neither read returns it
    keys = ["crm:1", "crm:2", "billing:1", "crm:9", "nope"]
    records, idents = store.records_and_identifiers(keys)
    assert records == store.get_records(keys) and sorted(records) == ["billing:1", "crm:1", "crm:2"]
    assert idents == store.identifiers_of_records(keys)
    assert [(i.key, i.degree) for i in idents["crm:1"]] == [("email:a@x.com", 2), ("phone:+1", 1)]
    assert idents["nope"] == [] and idents["billing:1"] == []


def test_run_start_reads_the_mark_the_rules_and_what_changed_since(store: GraphStore) -> None:
    store.upsert_records([rec("crm", "1")])
    mark, stored, changed = store.run_start("rules", "wm", "v1")
    assert mark == store.load_watermark() and stored is None and changed is None  # other rules: nothing listed
    store.set_meta("rules", "v1")
    assert store.run_start("rules", "wm", "v1") == (mark, "v1", ["crm:1"])  # no watermark yet: every record
    store.set_meta("wm", mark)
    store.upsert_records([rec("crm", "3"), rec("crm", "2")])
    later, stored, changed = store.run_start("rules", "wm", "v1")
    assert later != mark and stored == "v1" and changed == ["crm:2", "crm:3"] == store.records_loaded_since(mark)
    assert store.run_start("rules", "wm", None) == (later, "v1", None)
    assert store.run_start("rules", "wm", "v2") == (later, "v1", None)

def test_entities_and_resolved_equal_the_two_reads(store: GraphStore) -> None:
    store.upsert_entities([Entity("P1", "person", {"name": "Ann"}), Entity("A1", "account")])
    store.add_aliases({"P0": "Px", "Px": "P1", "Q0": "gone"})  # a two-hop chain, and one to no entity
    ids, asked = ["P1", "A1", "P0", "nope"], ["P0", "P1", "Q0", "new"]
    entities, resolved = store.entities_and_resolved(ids, asked)
    assert entities == store.get_entities(ids) and sorted(entities) == ["A1", "P1"]
    assert resolved == store.resolve_ids(asked) == {"P0": "P1", "P1": "P1"}
    assert store.entities_and_resolved([], []) == ({}, {})


def test_list_entities_pages_by_id(store: GraphStore) -> None:
    store.upsert_entities([Entity(f"P{i:02d}", "person") for i in range(7)] + [Entity("A01", "account")])
    page1 = store.list_entities(kind="person", limit=3)
    page2 = store.list_entities(kind="person", after=page1[-1].id, limit=3)
    assert [e.id for e in page1] == ["P00", "P01", "P02"]
    assert [e.id for e in page2] == ["P03", "P04", "P05"]
    assert [e.id for e in store.list_entities(limit=2)] == ["A01", "P00"]
    assert store.entity_counts() == {"persons": 7, "accounts": 1}
    store.upsert_entities([Entity("H1", "household"), Entity("Z1", "zone")])  # other kinds count as neither
    assert store.entity_counts() == {"persons": 7, "accounts": 1}


def test_aliases_resolve_through_chains(store: GraphStore) -> None:
    store.upsert_entities([Entity("P3", "person")])
    store.add_aliases({"P1": "P2"})
    store.add_aliases({"P2": "P3"})
    assert store.resolve_ids(["P1", "P2", "P3", "P9"]) == {"P1": "P3", "P2": "P3", "P3": "P3"}
    assert store.aliases_of(["P3"]) == {"P3": ["P1", "P2"]}
    store.upsert_entities([Entity("P1", "person")])
    store.remove_aliases(["P1"])
    assert store.resolve_ids(["P1"]) == {"P1": "P1"}


def test_event_log_is_append_only_and_filterable(store: GraphStore) -> None:
    evs = store.append_events(
        [
            EntityEvent("P1", "created", at="2026-01-01T00:00:00+00:00", run_id="r1", rule_version="v1"),
            EntityEvent("P1", "merged", at="2026-01-02T00:00:00+00:00", run_id="r2", rule_version="v1",
                        cause="match", details={"absorbed": ["P2"]}),
            EntityEvent("P2", "created", at="2026-01-01T00:00:00+00:00", actor="alice"),
        ]
    )
    seqs = [e.seq for e in evs]
    assert all(isinstance(s, int) for s in seqs) and seqs == sorted(seqs)
    p1 = store.events(entity_ids=["P1"])
    assert [e.type for e in p1] == ["created", "merged"]
    assert p1[1].details == {"absorbed": ["P2"]} and p1[1].cause == "match"
    assert [e.type for e in store.events(since="2026-01-02T00:00:00+00:00")] == ["merged"]
    assert [e.entity_id for e in store.events(after_seq=seqs[0], limit=1)] == ["P1"]
    assert [e.entity_id for e in store.events(types=["created"])] == ["P1", "P2"]
    assert store.events(entity_ids=[]) == []


def test_event_seqs_are_consecutive_in_a_batch_bigger_than_one_statement(store: GraphStore) -> None:
    first = store.append_events([EntityEvent("P0", "created")])[0].seq
    evs = store.append_events([EntityEvent(f"P{i}", "record_added") for i in range(1, 12_001)])
    assert [e.seq for e in evs] == list(range(first + 1, first + 12_001))
    stored = store.events(after_seq=first + 4_999, limit=3)
    assert [(e.seq, e.entity_id) for e in stored] == [(first + 5_000, "P5000"), (first + 5_001, "P5001"),
                                                      (first + 5_002, "P5002")]


def test_in_one_transaction_reads_its_own_writes(store: GraphStore) -> None:
    def work() -> str | None:
        store.set_meta("k", "1")
        store.upsert_entities([Entity("P1", "person")])
        store.set_memberships({"crm:1": "P1"})
        assert store.entity_of_records(["crm:1"]) == {"crm:1": "P1"}
        return store.get_meta("k")

    assert store.in_one_transaction(work) == "1"
    assert store.get_meta("k") == "1" and store.entity_of_records(["crm:1"]) == {"crm:1": "P1"}
    assert store.entity_counts() == {"persons": 1, "accounts": 0}


def test_in_one_transaction_writes_land_in_order_before_each_read_and_at_the_end(store: GraphStore) -> None:
    """A backend may hold writes back to send them with the next statement: every read must
    still see all writes made before it, in their order, and the last writes must land."""

    def work() -> int:
        store.upsert_records([rec("crm", "1", ("email", "a@x.com")), rec("crm", "2", ("email", "a@x.com"))])
        assert store.get_identifiers(["email:a@x.com"])["email:a@x.com"].degree == 2
        store.upsert_entities([Entity("P1", "person"), Entity("P2", "person"), Entity("A1", "account")])
        store.set_memberships({"crm:1": "P1", "crm:2": "P2"})
        store.set_blocks({"crm:1": ["b"], "crm:2": ["b"]})
        store.write_matches([MatchEdge("crm:1", "crm:3", 1.0, "v1")])
        store.replace_matches_touching(["crm:1"], [MatchEdge("crm:1", "crm:2", 1.2, "v1")])
        assert [e.pair for e in store.matches_for(["crm:1", "crm:3"])] == [("crm:1", "crm:2")]
        store.set_account_links({"P1": "A1", "P2": "A1"})
        store.set_memberships({"crm:2": "P1"})  # a second write of the same links, after the first
        store.delete_entities(["P2"])
        store.add_aliases({"P2": "P1"})
        assert store.members_of(["P1", "P2"]) == {"P1": ["crm:1", "crm:2"], "P2": []}
        assert store.persons_of(["A1"]) == {"A1": ["P1"]} and store.resolve_ids(["P2"]) == {"P2": "P1"}
        store.set_blocks({"crm:2": []})
        store.upsert_entities([Entity("P1", "person", {"name": "Ann"})])
        store.set_meta("k", "last")  # nothing reads after these: they land at the end
        return 7

    assert store.in_one_transaction(work) == 7
    assert store.records_in_blocks(["b"]) == {"b": ["crm:1"]}
    assert store.get_entities(["P1"])["P1"].attrs == {"name": "Ann"} and store.get_meta("k") == "last"
    assert store.entity_counts() == {"persons": 1, "accounts": 1}


def test_in_one_transaction_keeps_writes_made_before_an_error_of_the_caller(store: GraphStore) -> None:
    """Like one transaction per call: what was written before a (non-store) error stays."""

    def work() -> None:
        store.set_meta("k", "2")
        store.upsert_entities([Entity("P1", "person")])
        raise ValueError("the caller's own error")

    with pytest.raises(ValueError, match="the caller's own error"):
        store.in_one_transaction(work)
    assert store.get_meta("k") == "2" and list(store.get_entities(["P1"])) == ["P1"]


def test_overrides_are_kept_when_removed(store: GraphStore) -> None:
    store.add_override(Override("o1", CANNOT_LINK, "crm:2", "crm:1", "alice", "different people", "2026-01-01T00:00:00+00:00"))
    store.add_override(Override("o2", LINK, "crm:3", "crm:4", "bob", "same person", "2026-01-02T00:00:00+00:00"))
    active = store.get_overrides()
    assert [(o.id, o.a, o.b) for o in active] == [("o1", "crm:1", "crm:2"), ("o2", "crm:3", "crm:4")]
    assert [o.id for o in store.get_overrides(record_keys=["crm:4"])] == ["o2"]
    removed = store.remove_override("o1", "carol", "was wrong", "2026-02-01T00:00:00+00:00")
    assert removed is not None and removed.removed_by == "carol" and not removed.active
    assert store.remove_override("o1", "carol", "again", "2026-02-02T00:00:00+00:00") is None
    assert [o.id for o in store.get_overrides()] == ["o2"]
    assert [o.id for o in store.get_overrides(active_only=False)] == ["o1", "o2"]


def test_quarantine_keeps_rows_with_reason(store: GraphStore) -> None:
    store.add_quarantine(
        [
            QuarantineRow("crm", "crm.csv", 4, "a,b,,", "missing id column 'contact_id'", "b1"),
            QuarantineRow("billing", "billing.csv", 9, '{"x": 1}', "malformed email 'x@'", "b1"),
        ]
    )
    rows = store.quarantined()
    assert [(r.source, r.line) for r in rows] == [("crm", 4), ("billing", 9)]
    assert rows[0].raw == "a,b,,"
    assert [r.reason for r in store.quarantined(source="billing")] == ["malformed email 'x@'"]
    assert store.counts()["quarantined"] == 2


def test_runs_and_meta(store: GraphStore) -> None:
    store.save_run(Run("r1", "resolve", "2026-01-01T00:00:00+00:00", rule_version="v1"))
    store.save_run(Run("r1", "resolve", "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00", "v1", {"entities": 4}))
    store.save_run(Run("r2", "load", "2026-01-02T00:00:00+00:00"))
    assert [r.id for r in store.runs()] == ["r2", "r1"]
    assert store.runs(kind="resolve")[0].stats == {"entities": 4}
    assert store.get_meta("rules") is None
    store.set_meta("rules", "v1")
    store.set_meta("rules", "v2")
    assert store.get_meta("rules") == "v2"


def test_close_run_appends_events_sets_meta_and_saves_the_run(store: GraphStore) -> None:
    first = store.append_events([EntityEvent("P0", "created")])[0].seq
    run = Run("r1", "resolve", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00", "v1", {"persons": 2})
    evs = store.close_run(run, [EntityEvent("P1", "created", run_id="r1"), EntityEvent("P2", "merged", details={"a": [1]})],
                          {"wm": "7", "rules": "v1"})  # fmt: skip
    assert [e.seq for e in evs] == [first + 1, first + 2]
    got = store.events(entity_ids=["P1", "P2"])
    assert [(e.seq, e.entity_id, e.type, e.run_id, e.details) for e in got] == [
        (first + 1, "P1", "created", "r1", {}), (first + 2, "P2", "merged", None, {"a": [1]})
    ]
    assert (store.get_meta("wm"), store.get_meta("rules")) == ("7", "v1")
    assert store.runs()[0] == run
    store.close_run(Run("r2", "resolve", "2026-01-02T00:00:00+00:00"), [], {})  # nothing else to write
    assert [r.id for r in store.runs()] == ["r2", "r1"] and store.get_meta("wm") == "7"
    assert store.append_events([EntityEvent("P3", "created")])[0].seq == first + 3


def test_wipe_empties_everything(store: GraphStore) -> None:
    store.upsert_records([rec("crm", "1", ("email", "a@b.c"))])
    store.upsert_entities([Entity("P1", "person")])
    store.set_memberships({"crm:1": "P1"})
    store.append_events([EntityEvent("P1", "created")])
    store.wipe()
    assert all(v == 0 for v in store.counts().values())


def test_large_batch_upsert_and_reads(store: GraphStore) -> None:
    n = 3000  # more than one SQL chunk / UNWIND batch
    store.upsert_records([rec("product", str(i), ("device_id", f"d{i % 100}")) for i in range(n)])
    assert store.counts()["records"] == n
    degrees = store.get_identifiers([f"device_id:d{i}" for i in range(100)])
    assert {d.degree for d in degrees.values()} == {n // 100}
    got = store.get_records([f"product:{i}" for i in range(n)])
    assert len(got) == n
    again = store.upsert_records([rec("product", str(i), ("device_id", f"d{i % 100}")) for i in range(n)])
    assert len(again.unchanged) == n


def test_records_loaded_since_a_watermark(store: GraphStore) -> None:
    empty = store.load_watermark()
    store.upsert_records([rec("crm", "1"), rec("crm", "2")])
    mark = store.load_watermark()
    assert mark != empty
    assert store.records_loaded_since(None) == ["crm:1", "crm:2"]
    assert store.records_loaded_since(empty) == ["crm:1", "crm:2"]
    assert store.records_loaded_since(mark) == []
    store.upsert_records([rec("crm", "1"), rec("crm", "2")])  # unchanged: not new work
    assert store.records_loaded_since(mark) == []
    assert store.load_watermark() == mark
    store.upsert_records([rec("crm", "3")])
    newest = store.load_watermark()
    assert store.records_loaded_since(mark) == ["crm:3"]
    store.upsert_records([rec("crm", "1", first_name="Changed")])  # an update counts as new work
    assert store.records_loaded_since(mark) == ["crm:1", "crm:3"]
    assert store.records_loaded_since(newest) == ["crm:1"]


def test_blocks_replace_per_record(store: GraphStore) -> None:
    store.set_blocks({"crm:1": ["n|smith|j", "p|smith|j|e1"], "crm:2": ["n|smith|j"]})
    assert store.records_in_blocks(["n|smith|j", "none"]) == {"n|smith|j": ["crm:1", "crm:2"], "none": []}
    store.set_blocks({"crm:1": ["n|smyth|j"]})
    got = store.records_in_blocks(["n|smith|j", "n|smyth|j", "p|smith|j|e1"])
    assert got == {"n|smith|j": ["crm:2"], "n|smyth|j": ["crm:1"], "p|smith|j|e1": []}


def test_blocks_move_between_records_in_one_call(store: GraphStore) -> None:
    store.set_blocks({"crm:1": ["a", "b"], "crm:2": ["c"], "crm:3": ["b"]})
    store.set_blocks({"crm:1": ["c", "a", "c"], "crm:2": ["b"], "crm:3": []})
    assert store.records_in_blocks(["a", "b", "c"]) == {"a": ["crm:1"], "b": ["crm:2"], "c": ["crm:1"]}
    store.set_blocks({"crm:2": ["d"], "crm:1": ["b"]})  # "b" emptied and refilled in one call
    assert store.records_in_blocks(["a", "b", "c", "d"]) == {"a": [], "b": ["crm:1"], "c": [], "d": ["crm:2"]}


def test_replace_all_blocks_drops_what_the_full_run_no_longer_has(store: GraphStore) -> None:
    store.upsert_records([rec("crm", "1"), rec("crm", "2"), rec("crm", "3")])
    store.set_blocks({"crm:1": ["a", "b"], "crm:2": ["a"], "crm:3": ["c"]})
    store.replace_all_blocks({"a": ["crm:2", "crm:1"], "d": ["crm:3", "crm:3"]}, ["crm:1", "crm:2", "crm:3"])
    assert store.records_in_blocks(["a", "b", "c", "d"]) == {"a": ["crm:1", "crm:2"], "b": [], "c": [], "d": ["crm:3"]}
    store.set_blocks({"crm:1": ["d"]})  # per-record updates still work after a bulk replace
    assert store.records_in_blocks(["a", "d"]) == {"a": ["crm:2"], "d": ["crm:1", "crm:3"]}


def test_api_keys_are_kept_hashed_and_revocable(store: GraphStore) -> None:
    store.ping()
    k1 = ApiKey("k1", "crm-app", "app", "hash-1", created_at="2026-01-01T00:00:00+00:00", hint="ab12")
    k2 = ApiKey("k2", "steward ann", "steward", "hash-2", created_at="2026-01-02T00:00:00+00:00")
    store.add_api_key(k2)
    store.add_api_key(k1)
    got = store.api_key_by_hash("hash-1")
    assert got == k1 and got.active
    assert store.api_key_by_hash("nope") is None
    assert [k.id for k in store.list_api_keys()] == ["k1", "k2"]
    with pytest.raises(Exception):
        store.add_api_key(ApiKey("k3", "dup", "app", "hash-1"))

    revoked = store.revoke_api_key("k1", "2026-02-01T00:00:00+00:00")
    assert revoked is not None and revoked.revoked_at == "2026-02-01T00:00:00+00:00" and not revoked.active
    assert store.revoke_api_key("k1", "2026-03-01T00:00:00+00:00") is None  # already revoked
    assert store.revoke_api_key("missing", "2026-03-01T00:00:00+00:00") is None
    assert store.api_key_by_hash("hash-1").revoked_at == "2026-02-01T00:00:00+00:00"  # still on record
    assert [k.id for k in store.list_api_keys(include_revoked=False)] == ["k2"]
    assert [k.id for k in store.list_api_keys()] == ["k1", "k2"]
    store.wipe()
    assert store.list_api_keys() == []


def test_search_lookups_by_source_id_and_name(store: GraphStore) -> None:
    store.upsert_records(
        [
            rec("crm", "0031x1", full_name="Ann Lee"),
            rec("support", "0031x1", full_name="ann lee"),
            rec("billing", "B7", full_name="Bob Ray"),
            rec("product", "u9"),
        ]
    )
    by_id = store.records_by_source_id(["0031x1", "B7", "zzz"])
    assert by_id == {"0031x1": ["crm:0031x1", "support:0031x1"], "B7": ["billing:B7"], "zzz": []}
    by_name = store.records_by_name(["ann lee", "bob ray", "nobody"])
    assert by_name == {"ann lee": ["crm:0031x1", "support:0031x1"], "bob ray": ["billing:B7"], "nobody": []}
    assert store.records_by_name(["ann lee"], limit=1) == {"ann lee": ["crm:0031x1"]}
    # an update moves the record to its new name
    store.upsert_records([rec("billing", "B7", full_name="Bob Roy")])
    assert store.records_by_name(["bob ray", "bob roy"]) == {"bob ray": [], "bob roy": ["billing:B7"]}


def test_sqlite_file_trouble_is_store_unavailable_and_nothing_is_half_written(tmp_path: Path) -> None:
    """A locked SQLite file is the embedded store's "server went away": callers (the API's
    STORE_UNAVAILABLE) get StoreUnavailable, and once the lock is gone all works again."""
    import sqlite3

    from graphstore.sqlite_store import SqliteStore

    path = tmp_path / "locked.db"
    store = SqliteStore(path, busy_timeout=0.2)
    store.upsert_records([rec("crm", "1")])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.upsert_records([rec("crm", "2")])
        assert store.get_record("crm:1") is not None  # WAL: readers go on under a writer's lock
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.get_record("crm:2") is None
    store.upsert_records([rec("crm", "2")])
    assert sorted(store.records_loaded_since(None)) == ["crm:1", "crm:2"]
    store.close()
