"""Survivorship rules without a store: each rule, each conflict case, the config checks,
and properties (record order never matters, empty never wins, priority is never beaten)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphstore.model import IdentifierRef, Record
from graphstore.survivorship import (
    MOST_FREQUENT,
    MOST_RECENT,
    SINGLE_VALUE,
    SOURCE_PRIORITY,
    TIEBREAK,
    AttributeRule,
    Candidate,
    Survivorship,
    SurvivorshipError,
    candidates_of,
    golden_record,
    load_survivorship,
    survive,
)

ORDER = (SOURCE_PRIORITY, MOST_RECENT, MOST_FREQUENT)
RULE = AttributeRule(priority=("billing", "crm"))


def cand(value: str, source: str, record: str, ts: str | None = None) -> Candidate:
    return Candidate(value, value.casefold(), source, record, ts)


def rec(source: str, sid: str, ts: str | None = None, norm: dict[str, str] | None = None,
        idents: list[IdentifierRef] | None = None, **attrs: object) -> Record:
    return Record(source=source, source_id=sid, attrs=dict(attrs), norm=norm or {}, identifiers=idents or [],
                  updated_at=ts)


# -- the rules, one by one -------------------------------------------------------------------
def test_higher_priority_source_wins_over_a_newer_lower_priority_value() -> None:
    g = survive([cand("Acme Ltd", "billing", "billing:1", "2020-01-01"),
                 cand("ACME Limited", "crm", "crm:1", "2025-06-01")], RULE, ORDER)
    assert g is not None
    assert (g.value, g.source, g.record, g.rule) == ("Acme Ltd", "billing", "billing:1", SOURCE_PRIORITY)
    assert [(a.value, a.source, a.record) for a in g.alternatives] == [("ACME Limited", "crm", "crm:1")]


def test_newer_but_empty_value_never_overwrites() -> None:
    older = cand("active", "billing", "billing:1", "2020-01-01")
    for empty in ("", "   "):
        newer = Candidate(empty, empty.strip(), "billing", "billing:2", "2025-01-01")
        g = survive([older, newer], RULE, ORDER)
        assert g is not None and (g.value, g.record, g.rule) == ("active", "billing:1", SINGLE_VALUE)
        assert g.alternatives == ()


def test_newer_but_empty_record_attribute_is_no_candidate() -> None:
    old = rec("billing", "1", "2020-01-01T00:00:00+00:00", status="past_due")
    new_blank = rec("billing", "2", "2025-01-01T00:00:00+00:00", status="  ")
    new_missing = rec("billing", "3", "2025-02-01T00:00:00+00:00")
    new_list = rec("billing", "4", "2025-03-01T00:00:00+00:00", status=[])
    config = load_survivorship()
    g = golden_record("P-1", "person", [new_blank, old, new_missing, new_list], config)
    assert g.attributes["payment_status"].value == "past_due"
    assert g.attributes["payment_status"].record == "billing:1"


def test_most_recent_decides_within_one_source() -> None:
    g = survive([cand("Jane Doe", "crm", "crm:1", "2021-01-01"), cand("Jane Smith", "crm", "crm:2", "2024-01-01"),
                 cand("Jane Smith-Doe", "support", "support:1", "2025-01-01")], RULE, ORDER)
    assert g is not None and (g.value, g.rule) == ("Jane Smith", MOST_RECENT)
    assert {a.value for a in g.alternatives} == {"Jane Doe", "Jane Smith-Doe"}


def test_undated_value_loses_to_a_dated_one_on_recency() -> None:
    g = survive([cand("a", "crm", "crm:1", None), cand("b", "crm", "crm:2", "2020-01-01")], RULE, ORDER)
    assert g is not None and (g.value, g.rule) == ("b", MOST_RECENT)


def test_most_frequent_decides_when_equally_recent() -> None:
    ts = "2024-01-01"
    g = survive([cand("Berlin", "crm", "crm:1", ts), cand("berlin", "crm", "crm:2", ts),
                 cand("Bonn", "crm", "crm:3", ts)], RULE, ORDER)
    assert g is not None and g.rule == MOST_FREQUENT and g.value.casefold() == "berlin" and g.records == 2
    assert [(a.value, a.records) for a in g.alternatives] == [("Bonn", 1)]


def test_configured_order_puts_frequency_before_recency() -> None:
    cands = [cand("x.com", "crm", "crm:1", "2020-01-01"), cand("x.com", "crm", "crm:2", "2020-01-01"),
             cand("y.com", "crm", "crm:3", "2025-01-01")]
    g = survive(cands, RULE, (SOURCE_PRIORITY, MOST_FREQUENT, MOST_RECENT))
    assert g is not None and (g.value, g.rule) == ("x.com", MOST_FREQUENT)
    g2 = survive(cands, RULE, ORDER)
    assert g2 is not None and (g2.value, g2.rule) == ("y.com", MOST_RECENT)


def test_full_tie_is_broken_by_smallest_value() -> None:
    g = survive([cand("b", "crm", "crm:1", "t"), cand("a", "crm", "crm:2", "t")], RULE, ORDER)
    assert g is not None and (g.value, g.rule) == ("a", TIEBREAK)


def test_unlisted_sources_rank_below_listed_ones() -> None:
    g = survive([cand("p", "product", "product:1", "2026-01-01"), cand("c", "crm", "crm:1", "2019-01-01")],
                RULE, ORDER)
    assert g is not None and (g.value, g.rule) == ("c", SOURCE_PRIORITY)


def test_exclusive_ignores_other_sources_entirely() -> None:
    rule = AttributeRule(priority=("billing",), exclusive=True)
    assert survive([cand("Active", "crm", "crm:1", "2026-01-01")], rule, ORDER) is None
    g = survive([cand("Active", "crm", "crm:1", "2026-01-01"), cand("past_due", "billing", "billing:1")], rule, ORDER)
    assert g is not None and (g.value, g.rule, g.alternatives) == ("past_due", SINGLE_VALUE, ())


def test_identifier_values_and_field_filter() -> None:
    r = rec("crm", "1", idents=[IdentifierRef("email", "b@x.com", "email"),
                                IdentifierRef("email", "a@x.com", "other_emails"),
                                IdentifierRef("domain", "x.com", "email")])
    rule = AttributeRule(identifier="email", identifier_fields=("email",))
    assert [c.value for c in candidates_of(r, "email", rule)] == ["b@x.com"]
    assert [c.value for c in candidates_of(r, "domain", AttributeRule(identifier="domain"))] == ["x.com"]


def test_name_forms_are_derived_and_reordered() -> None:
    rule = AttributeRule(fields=("full_name",))
    billing = rec("billing", "1", full_name="Doe,  Jane", norm={"full_name": "jane doe"})
    crm = rec("crm", "1", first_name="Jane", last_name="Doe", norm={"full_name": "jane doe"})
    assert [c.value for c in candidates_of(billing, "name", rule)] == ["Jane Doe"]
    assert [c.value for c in candidates_of(crm, "name", rule)] == ["Jane Doe"]
    assert [c.value for c in candidates_of(billing, "first_name", AttributeRule())] == ["Jane"]
    assert [c.value for c in candidates_of(billing, "last_name", AttributeRule())] == ["Doe"]


def test_normalized_value_and_grouping_by_norm() -> None:
    config = load_survivorship()
    a = rec("billing", "1", "2024-01-01T00:00:00+00:00", country="USA", norm={"country": "US"})
    b = rec("crm", "1", "2025-01-01T00:00:00+00:00", country="United States", norm={"country": "US"})
    g = golden_record("P-1", "person", [a, b], config).attributes["country"]
    assert (g.value, g.rule, g.records, g.alternatives) == ("US", SINGLE_VALUE, 2, ())


def test_account_golden_from_member_records() -> None:
    config = load_survivorship()
    recs = [
        rec("billing", "1", "2020-01-01T00:00:00+00:00", company="Acme Holdings Ltd", status="active",
            idents=[IdentifierRef("payment_entity", "PE1", "payment_entity"), IdentifierRef("domain", "acme.com", "email")]),
        rec("crm", "1", "2025-01-01T00:00:00+00:00", company="ACME", status="Prospect",
            idents=[IdentifierRef("domain", "acme.io", "website")]),
        rec("crm", "2", "2024-01-01T00:00:00+00:00", company="", idents=[IdentifierRef("domain", "acme.io", "website")]),
    ]
    g = golden_record("A-1", "account", recs, config)
    assert g.kind == "account" and g.version == config.config_version
    assert (g.attributes["name"].value, g.attributes["name"].source) == ("Acme Holdings Ltd", "billing")
    assert [a.value for a in g.attributes["name"].alternatives] == ["ACME"]
    assert g.attributes["payment_status"].value == "active"
    assert g.attributes["payment_entity"].value == "PE1"
    assert (g.attributes["domain"].value, g.attributes["domain"].records) == ("acme.io", 2)
    assert "contact_status" not in g.attributes  # a person attribute, not an account one


# -- config --------------------------------------------------------------------------------
def test_default_config_is_versioned_by_content(tmp_path: Path) -> None:
    default = load_survivorship()
    assert default.config_version.startswith(default.version + "+")
    text = (Path(__file__).parents[1] / "graphstore/defaults/survivorship.yaml").read_text("utf-8")
    p = tmp_path / "s.yaml"
    p.write_text(text + "\n# a comment changes the hash\n", "utf-8")
    assert load_survivorship(p).config_version != default.config_version
    assert load_survivorship(p).version == default.version


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("version: '1'\nperson: {name: {priority: [crm]}}\naccount: {name: {prioritty: [crm]}}\n",
         "field account.name.prioritty: unknown field"),
        ("version: '1'\norder: [newest]\nperson: {name: {}}\naccount: {name: {}}\n", "field order.0: expected"),
        ("version: '1'\nperson: {status: {exclusive: true}}\naccount: {name: {}}\n",
         "field person.status: exclusive needs a priority list"),
        ("version: '1'\nperson: {name: {priority: [crm, crm]}}\naccount: {name: {}}\n",
         "field person.name.priority: a source is listed twice"),
        ("version: '1'\nperson: {Name: {}}\naccount: {name: {}}\n", "field person: attribute names must be lowercase"),
        ("person: {name: {}}\naccount: {name: {}}\n", "field version: required field is missing"),
        ("version: '1'\nperson: [\n", "line"),
        ("- just a list\n", "expected a mapping at the top level"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_field(tmp_path: Path, text: str, expected: str) -> None:
    p = tmp_path / "surv.yaml"
    p.write_text(text, "utf-8")
    with pytest.raises(SurvivorshipError) as err:
        load_survivorship(p)
    msg = str(err.value)
    assert msg.startswith(str(p)) and expected in msg and "\n" not in msg


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(SurvivorshipError, match="cannot read survivorship file"):
        load_survivorship(tmp_path / "nope.yaml")


# -- properties ------------------------------------------------------------------------------
SOURCES = ("billing", "crm", "support", "product")
values = st.sampled_from(["Acme", "acme", "Globex", "Initech", "", " "])
stamps = st.one_of(st.none(), st.sampled_from(["2020-01-01", "2021-06-01", "2024-03-03"]))


@st.composite
def candidate_lists(draw: st.DrawFn) -> list[Candidate]:
    n = draw(st.integers(1, 8))
    out = []
    for i in range(n):
        v = draw(values)
        out.append(Candidate(v, v.strip().casefold(), draw(st.sampled_from(SOURCES)), f"r:{i}", draw(stamps)))
    return out


orders = st.permutations([SOURCE_PRIORITY, MOST_RECENT, MOST_FREQUENT])


@settings(max_examples=200, deadline=None)
@given(candidate_lists(), st.randoms(use_true_random=False), orders)
def test_record_order_never_changes_the_result(cands: list[Candidate], rnd, order: list[str]) -> None:
    shuffled = list(cands)
    rnd.shuffle(shuffled)
    assert survive(cands, RULE, order) == survive(shuffled, RULE, order)


@settings(max_examples=200, deadline=None)
@given(candidate_lists(), orders)
def test_empty_never_wins_and_adding_empties_changes_nothing(cands: list[Candidate], order: list[str]) -> None:
    g = survive(cands, RULE, order)
    non_empty = [c for c in cands if c.key]
    assert (g is None) == (not non_empty)
    if g is not None:
        assert g.value.strip() and g.value in {c.value for c in non_empty}
        more = cands + [Candidate("", "", "billing", "r:empty", "2030-01-01")]
        assert survive(more, RULE, order) == g


@settings(max_examples=200, deadline=None)
@given(candidate_lists())
def test_priority_is_never_beaten_by_a_lower_source(cands: list[Candidate]) -> None:
    g = survive(cands, RULE, ORDER)
    if g is None:
        return
    rank = {s: RULE.priority.index(s) if s in RULE.priority else len(RULE.priority) for s in SOURCES}
    best = min(rank[c.source] for c in cands if c.key)
    assert rank[g.source] == best
    newer_lower = cands + [Candidate("Zzz Newest", "zzz newest", "product", "r:late", "2099-01-01")]
    if best < rank["product"]:
        assert survive(newer_lower, RULE, ORDER).value == g.value  # type: ignore[union-attr]


def test_config_model_rejects_fields_with_identifier() -> None:
    with pytest.raises(ValueError, match="either fields or identifier"):
        AttributeRule(fields=("email",), identifier="email")
    assert isinstance(load_survivorship(), Survivorship)
