"""Resolution behaviour: guards, overrides, stable IDs, merges, splits, explanations.

Each test builds a tiny graph by hand so the expected entities are obvious, and runs
on both stores through the `store` fixture.
"""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphstore.model import MATCH, NEAR_MISS, EvidenceItem, IdentifierRef, Record
from graphstore.resolution import ResolutionError, Resolver
from graphstore.rules import load_rules
from graphstore.store import GraphStore


def person(source: str, sid: str, name: str, *idents: tuple[str, str], **norm: str) -> Record:
    first, _, last = name.partition(" ")
    fields = {"first_name": first, "last_name": last, "full_name": name, **norm}
    return Record(
        source=source, source_id=sid, attrs={"name": name}, norm=fields,
        identifiers=[IdentifierRef(k, v, k) for k, v in idents],
    )


def groups(store: GraphStore) -> set[frozenset[str]]:
    by_entity: dict[str, set[str]] = {}
    for rk, eid in store.all_memberships().items():
        by_entity.setdefault(eid, set()).add(rk)
    return {frozenset(v) for v in by_entity.values()}


def same(store: GraphStore, a: str, b: str) -> bool:
    ents = store.entity_of_records([a, b])
    return ents.get(a) is not None and ents.get(a) == ents.get(b)


def test_shared_email_merges_with_evidence_and_rule_version(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "ann lee", ("email", "ann@acme.com")),
            person("billing", "7", "ann lee", ("email", "ann@acme.com"), ("payment_entity", "PE1")),
            person("support", "3", "bob ray", ("email", "bob@acme.com")),
        ]
    )
    r = Resolver(store)
    summary = r.resolve()
    assert summary.mode == "full" and summary.matches == 1
    assert groups(store) == {frozenset({"crm:1", "billing:7"}), frozenset({"support:3"})}
    edge = store.get_match("crm:1", "billing:7")
    assert edge is not None and edge.decision == MATCH and edge.rule_version == r.rules.rule_version
    assert {(i.kind, i.value) for i in edge.evidence if i.counted} >= {("email", "ann@acme.com")}
    ex = r.explain("crm:1", "billing:7")
    assert ex.same_entity and [e.pair for e in ex.path] == [("billing:7", "crm:1")]
    assert "email" in ex.verdict


def test_degree_hub_is_recorded_but_never_merges(store: GraphStore) -> None:
    rules = load_rules()
    limit = rules.evidence["device_id"].max_degree
    assert limit is not None
    store.upsert_records(
        [person("product", str(i), f"user{i} x{i}", ("device_id", "shared-tablet")) for i in range(limit + 1)]
    )
    r = Resolver(store, rules)
    summary = r.resolve()
    assert summary.hub_identifiers_ignored == 1
    assert len(groups(store)) == limit + 1
    assert store.get_identifiers(["device_id:shared-tablet"])["device_id:shared-tablet"].degree == limit + 1
    ex = r.explain("product:0", "product:1")
    assert not ex.same_entity
    assert [(i.kind, i.value) for i in ex.ignored] == [("device_id", "shared-tablet")]
    assert "hub" in (ex.ignored[0].note or "") and "below threshold" in ex.verdict


def test_deny_pattern_hub_below_degree_limit(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("support", "1", "ann lee", ("email", "support@acme.com")),
            person("support", "2", "bob ray", ("email", "support@acme.com")),
        ]
    )
    Resolver(store).resolve()
    assert not same(store, "support:1", "support:2")
    ex = Resolver(store).explain("support:1", "support:2")
    assert "deny pattern" in (ex.ignored[0].note or "")


def test_similar_names_alone_never_merge_but_corroborated_ones_do(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "jonathan smith"),
            person("marketing", "1", "jonathan smyth"),
            person("crm", "2", "maria garcia", ("domain", "acme.com"), postcode="AB1", company="acme"),
            person("support", "2", "maria garcía", ("domain", "acme.com"), postcode="AB1", company="acme"),
        ]
    )
    Resolver(store).resolve()
    assert not same(store, "crm:1", "marketing:1")
    assert same(store, "crm:2", "support:2")


def test_near_miss_kept_and_explained(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "peter olsen", ("domain", "acme.com")),
            person("marketing", "9", "peter olsen", ("domain", "acme.com")),
        ]
    )
    r = Resolver(store)
    summary = r.resolve()
    assert summary.near_misses == 1 and summary.matches == 0
    edge = store.get_match("crm:1", "marketing:9")
    assert edge is not None and edge.decision == NEAR_MISS
    assert r.rules.near_miss_floor <= edge.score < r.rules.threshold
    ex = r.explain("crm:1", "marketing:9")
    assert not ex.same_entity and ex.score == pytest.approx(edge.score)
    assert f"below threshold {r.rules.threshold:g}" in ex.verdict


def test_rerun_on_unchanged_data_changes_nothing(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "ann lee", ("email", "ann@acme.com"), ("domain", "acme.com")),
            person("billing", "1", "ann lee", ("email", "ann@acme.com"), ("payment_entity", "PE1")),
            person("crm", "2", "bob ray", ("email", "bob@acme.com"), ("domain", "acme.com")),
        ]
    )
    r = Resolver(store)
    r.resolve()
    before = store.all_memberships()
    accounts = {e.id for e in store.list_entities(kind="account")}
    events = len(store.events())
    again = r.resolve(full=True)
    assert store.all_memberships() == before
    assert {e.id for e in store.list_entities(kind="account")} == accounts
    assert (again.created, again.merged, again.split, again.moved) == (0, 0, 0, 0)
    assert len(store.events()) == events
    # an incremental run re-reads the last minute's loads (the watermark slack); harmless
    inc = r.resolve()
    assert inc.mode == "incremental" and (inc.created, inc.merged, inc.split, inc.moved) == (0, 0, 0, 0)
    assert store.all_memberships() == before and len(store.events()) == events


def test_merge_keeps_majority_id_and_alias_resolves(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "ann lee", ("email", "ann@acme.com")),
            person("billing", "1", "ann lee", ("email", "ann@acme.com")),
            person("support", "1", "ann lee", ("email", "ann@acme.com")),
            person("product", "1", "ann lee", ("user_id", "u-1")),
        ]
    )
    r = Resolver(store)
    r.resolve()
    big = store.entity_of_records(["crm:1"])["crm:1"]
    small = store.entity_of_records(["product:1"])["product:1"]
    assert big != small
    store.upsert_records([person("marketing", "1", "ann lee", ("email", "ann@acme.com"), ("user_id", "u-1"))])
    summary = r.resolve()
    assert summary.mode == "incremental" and summary.merged == 1
    assert set(store.entity_of_records(["product:1", "marketing:1"]).values()) == {big}
    assert store.resolve_ids([small]) == {small: big}
    assert store.aliases_of([big]) == {big: [small]}
    assert [e.type for e in store.events(entity_ids=[small])][-1] == "merged_into"
    merged = [e for e in store.events(entity_ids=[big]) if e.type == "merged"]
    assert merged and merged[0].details["absorbed"] == [small] and merged[0].rule_version == r.rules.rule_version


def test_cannot_link_splits_along_weakest_link_and_largest_part_keeps_id(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "ann lee", ("email", "ann@acme.com"), ("phone", "+441111"), postcode="AB1"),
            person("billing", "1", "ann lee", ("email", "ann@acme.com"), ("phone", "+441111"), postcode="AB1"),
            person("support", "1", "ann lee", ("email", "ann@acme.com")),
            person("product", "1", "zoe kim", ("user_id", "u-1"), ("device_id", "dev-9"), postcode="AB1"),
            person("support", "2", "zoe kim", ("user_id", "u-1"), ("device_id", "dev-9"), ("phone", "+441111"),
                   postcode="AB1"),
        ]
    )
    r = Resolver(store)
    r.resolve()
    assert len(groups(store)) == 1
    eid = store.entity_of_records(["crm:1"])["crm:1"]
    out = r.split("crm:1", "product:1", actor="alice", reason="different people, same office phone")
    assert not same(store, "crm:1", "product:1")
    # support:2 hangs on the email cluster by phone + postcode (2 x 1.0), the weakest cut;
    # cutting product:1 off instead would cost 2.4 (user id, device, name, postcode)
    assert groups(store) == {
        frozenset({"crm:1", "billing:1", "support:1"}),
        frozenset({"product:1", "support:2"}),
    }
    assert store.entity_of_records(["crm:1"])["crm:1"] == eid  # the larger part keeps the id
    assert out.entity_ids[0] == eid and out.entity_ids[1] != eid
    types = [e.type for e in store.events(entity_ids=[eid])]
    assert "split" in types and "cut" in types and "override_added" in types
    # a later full run honours the override even though the evidence is unchanged
    r.resolve(full=True)
    assert not same(store, "crm:1", "product:1")
    ex = r.explain("crm:1", "product:1")
    assert ex.override is not None and ex.override.actor == "alice" and "cannot-link" in ex.verdict


def test_cannot_link_beats_strong_direct_evidence(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "sam park", ("email", "sam@acme.com"), ("phone", "+4412"), ("user_id", "u9")),
            person("product", "1", "sam park", ("email", "sam@acme.com"), ("phone", "+4412"), ("user_id", "u9")),
        ]
    )
    r = Resolver(store)
    r.resolve()
    r.split("crm:1", "product:1", actor="bob", reason="shared family account")
    assert not same(store, "crm:1", "product:1")
    r.resolve(full=True)
    assert not same(store, "crm:1", "product:1")


def test_must_link_is_honoured_and_removable(store: GraphStore) -> None:
    store.upsert_records([person("crm", "1", "li wei"), person("billing", "5", "wei li")])
    r = Resolver(store)
    r.resolve()
    assert not same(store, "crm:1", "billing:5")
    out = r.link("crm:1", "billing:5", actor="carol", reason="confirmed by phone")
    assert same(store, "crm:1", "billing:5") and out.entity_ids[0] == out.entity_ids[1]
    r.resolve(full=True)
    assert same(store, "crm:1", "billing:5")
    ex = r.explain("crm:1", "billing:5")
    assert ex.same_entity and ex.path[0].evidence[0].kind == "must_link"
    r.remove_override(out.override.id, actor="carol", reason="wrong customer")
    assert not same(store, "crm:1", "billing:5")
    assert [o.id for o in store.get_overrides(active_only=False)] == [out.override.id]


def test_contradictory_and_bad_overrides_are_refused(store: GraphStore) -> None:
    store.upsert_records([person("crm", "1", "a b"), person("crm", "2", "c d")])
    r = Resolver(store)
    r.resolve()
    r.link("crm:1", "crm:2", actor="x", reason="same")
    with pytest.raises(ResolutionError, match="contradicts"):
        r.split("crm:1", "crm:2", actor="y", reason="not same")
    with pytest.raises(ResolutionError, match="unknown record"):
        r.link("crm:1", "crm:404", actor="x", reason="r")
    with pytest.raises(ResolutionError, match="reason"):
        r.link("crm:1", "crm:2", actor="x", reason=" ")
    with pytest.raises(ResolutionError, match="no active override"):
        r.remove_override("ovr-nope", actor="x", reason="r")


def test_accounts_and_hierarchy(store: GraphStore) -> None:
    store.upsert_records(
        [
            person("crm", "1", "ann lee", ("email", "ann@acme.com"), ("domain", "acme.com")),
            person("billing", "1", "ann lee", ("email", "ann@acme.com"), ("payment_entity", "PE-ACME")),
            person("crm", "2", "bob ray", ("email", "bob@acme.com"), ("domain", "acme.com")),
            person("crm", "3", "cy twu", ("email", "cy@acme-labs.io"), ("domain", "acme-labs.io")),
            person("billing", "3", "cy twu", ("email", "cy@acme-labs.io"), ("payment_entity", "PE-LABS"),
                   parent_payment_entity="PE-ACME"),
            person("marketing", "4", "di fox", ("email", "di@gmail.com")),
        ]
    )
    Resolver(store).resolve()
    person_of = store.all_memberships()
    acct = store.accounts_of(set(person_of.values()))
    ann, bob, cy, di = (person_of[k] for k in ("crm:1", "crm:2", "crm:3", "marketing:4"))
    assert acct[ann] == acct[bob] != acct[cy]
    assert di not in acct  # no account-level evidence: no account
    assert store.parents_of([acct[cy]]) == {acct[cy]: acct[ann]}
    assert store.children_of([acct[ann]]) == {acct[ann]: [acct[cy]]}
    assert store.persons_of([acct[ann]])[acct[ann]] == sorted([ann, bob])


def test_configured_domain_parent_makes_a_child_account(store: GraphStore) -> None:
    """accounts.domain_parents: the account holding the child domain hangs under the one
    holding the parent domain, in a full run and in an incremental one alike."""
    rules = load_rules()
    rules = rules.model_copy(update={"accounts": rules.accounts.model_copy(
        update={"domain_parents": {"acme-labs.io": "acme.com"}})})
    store.upsert_records([
        person("crm", "1", "ann lee", ("email", "ann@acme.com"), ("domain", "acme.com")),
        person("crm", "2", "bob ray", ("email", "bob@acme-labs.io"), ("domain", "acme-labs.io")),
        person("crm", "3", "cy twu", ("email", "cy@zeta.org"), ("domain", "zeta.org")),
    ])
    r = Resolver(store, rules)
    r.resolve(full=True)
    person_of = store.all_memberships()
    acct = store.accounts_of(set(person_of.values()))
    ann, bob, cy = (acct[person_of[k]] for k in ("crm:1", "crm:2", "crm:3"))
    assert len({ann, bob, cy}) == 3
    assert store.parents_of([bob, cy, ann]) == {bob: ann}
    store.upsert_records([person("crm", "4", "di fox", ("email", "di@acme-labs.io"), ("domain", "acme-labs.io"))])
    r.resolve()
    di = store.accounts_of([store.entity_of_records(["crm:4"])["crm:4"]])
    assert list(di.values()) == [bob]
    assert store.parents_of([bob]) == {bob: ann}


def test_reseller_payment_entity_does_not_fuse_accounts(store: GraphStore) -> None:
    limit = load_rules().evidence["payment_entity"].max_degree
    assert limit is not None
    recs = [
        person("billing", str(i), f"p{i} q{i}", ("email", f"p{i}@c{i}.com"), ("domain", f"c{i}.com"),
               ("payment_entity", "PE-RESELLER"))
        for i in range(limit + 1)
    ]
    store.upsert_records(recs)
    Resolver(store).resolve()
    persons = set(store.all_memberships().values())
    assert len(set(store.accounts_of(persons).values())) == limit + 1


def test_payment_entity_spanning_many_domains_is_a_hub_in_full_and_incremental_runs(store: GraphStore) -> None:
    """A reseller's payment entity stays far below the degree limit on small data; what
    gives it away is the number of unrelated companies behind it (max_domains)."""
    rules = load_rules()
    allowed = rules.evidence["payment_entity"].max_domains
    assert allowed is not None and allowed < (rules.evidence["payment_entity"].max_degree or 10**9)

    def company(i: int) -> list[Record]:
        return [
            person("crm", f"{i}", f"p{i} q{i}", ("email", f"p{i}@c{i}.com"), ("domain", f"c{i}.com")),
            person("billing", f"{i}", f"p{i} q{i}", ("email", f"p{i}@c{i}.com"), ("domain", f"c{i}.com"),
                   ("payment_entity", "PE-RESELLER")),
        ]

    r = Resolver(store)
    for i in range(allowed):  # up to the limit, one payer over few domains is one customer
        store.upsert_records(company(i))
    r.resolve()
    persons = set(store.all_memberships().values())
    assert len(set(store.accounts_of(persons).values())) == 1

    store.upsert_records(company(allowed))  # one domain too many: incremental run splits
    r.resolve()
    persons = set(store.all_memberships().values())
    incremental = store.accounts_of(persons)
    assert len(set(incremental.values())) == allowed + 1
    r.resolve(full=True)
    assert store.accounts_of(persons) == incremental
    assert rules.spread_guard("payment_entity", allowed + 1) == (
        f"hub: its records carry {allowed + 1} corporate domains (more than {allowed})"
    )
    assert rules.spread_guard("email", 50) is None  # only kinds with max_domains have this guard


def test_incremental_equals_full_on_a_growing_graph(store: GraphStore) -> None:
    batches = [
        [person("crm", "1", "ann lee", ("email", "ann@acme.com"))],
        [person("product", "1", "ann lee", ("user_id", "u1"))],
        [person("marketing", "1", "ann lee", ("email", "ann@acme.com"), ("user_id", "u1")),
         person("crm", "2", "bob ray", ("phone", "+4455"))],
        [person("support", "1", "bob ray", ("phone", "+4455"), ("email", "bob@acme.com"))],
    ]
    r = Resolver(store)
    for batch in batches:
        store.upsert_records(batch)
        r.resolve()
    incremental = groups(store)
    r.resolve(full=True)
    assert groups(store) == incremental == {
        frozenset({"crm:1", "product:1", "marketing:1"}),
        frozenset({"crm:2", "support:1"}),
    }


@settings(max_examples=200, deadline=None)
@given(
    st.text(min_size=1, max_size=8), st.floats(allow_nan=False, allow_infinity=False),
    *(st.none() | st.text(max_size=8) for _ in range(3)),
    st.none() | st.floats(min_value=0, max_value=1), st.booleans(), st.none() | st.text(max_size=8),
)
def test_evidence_item_dict_has_every_set_field_and_round_trips(
    kind: str, weight: float, value: str | None, left: str | None, right: str | None,
    similarity: float | None, counted: bool, note: str | None,
) -> None:
    item = EvidenceItem(kind, weight, value, left, right, similarity, counted, note)
    d = item.to_dict()
    assert d == {f: getattr(item, f) for f in EvidenceItem.__slots__ if getattr(item, f) is not None}
    assert EvidenceItem.from_dict(d) == item


_GLOB = st.text(alphabet="ab@.*?[]!-", max_size=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(_GLOB, min_size=1, max_size=4), st.text(alphabet="ab@.-[]!*?", max_size=8))
def test_deny_patterns_name_the_first_pattern_fnmatch_matches(patterns: list[str], value: str) -> None:
    """The guard matches all deny patterns with one regex; its verdict and the pattern it
    names must be fnmatch's, pattern by pattern in the order the rules list them."""
    rules = load_rules().model_copy(update={"evidence": {
        "email": load_rules().evidence["email"].model_copy(update={"deny": tuple(patterns), "max_degree": None}),
    }})
    first = next((p for p in patterns if fnmatch.fnmatchcase(value, p)), None)
    expected = None if first is None else f"hub: value matches deny pattern {first!r}"
    assert rules.guard("email", value, 1) == expected
