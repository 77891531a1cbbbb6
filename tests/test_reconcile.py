"""Reconciliation: every bridge adds up exactly, and every line drills down to the right records.

Two kinds of evidence, both on both stores:
- a hand-built graph where each bridge line is known in advance (which records, which
  entity), so a wrong definition fails;
- generated data (five sources, quarantined rows, hubs), where the arithmetic must hold
  exactly for every source and every drill-down item must point at real records.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graphstore.metrics import MetricsContract, load_metrics
from graphstore.model import IdentifierRef, QuarantineRow, Record
from graphstore.reconcile import LINE_KEYS, reconcile
from graphstore.resolution import Resolver
from graphstore.store import GraphStore
from loaders.generate import Noise, generate
from loaders.load import load_folder


def rec(source: str, sid: str, name: str, *idents: tuple[str, str], **attrs: str) -> Record:
    first, _, last = name.partition(" ")
    return Record(
        source=source, source_id=sid, attrs={"full_name": name.title(), **attrs},
        norm={"first_name": first, "last_name": last, "full_name": name},
        identifiers=[IdentifierRef(k, v, k) for k, v in idents],
    )


# Persons (what the resolver makes of them):
#   ann  = crm:1, billing:7, support:1, support:2, marketing:1   (email / phone + name)
#   zed  = support:5                                               (support only)
#   hub  = support:3 (support@acme.com is a denied address)        (support only)
#   kim  = support:4 (no email at all)                             (support only)
#   max  = marketing:2                                             (marketing only)
#   lou  = crm:9 (no account evidence)
# Accounts: acme.com (ann) ; zed.com (zed)
SMALL = [
    rec("crm", "1", "ann lee", ("email", "ann@acme.com"), ("phone", "+14155550101"), ("domain", "acme.com"),
        crm_account_id="A1"),
    rec("crm", "9", "lou poe", ("phone", "+14155550199"), crm_account_id="A9"),
    rec("billing", "7", "ann lee", ("email", "ann@acme.com"), ("payment_entity", "PE1"), ("domain", "acme.com")),
    rec("support", "1", "ann lee", ("email", "ann@acme.com")),
    rec("support", "2", "ann lee", ("email", "ann.lee@gmail.com"), ("phone", "+14155550101")),
    rec("support", "3", "hal ute", ("email", "support@acme.com")),
    rec("support", "4", "kim orr", ("phone", "+14155550144")),
    rec("support", "5", "zed ash", ("email", "zed@zed.com"), ("domain", "zed.com")),
    rec("marketing", "1", "ann lee", ("email", "ann@acme.com"), team="emea"),
    rec("marketing", "2", "max ivy", ("email", "max@ivy.org"), team="emea"),
]

SMALL_CONTRACT = """
version: "t-1"
reconciliation:
  crm: {counts: CRM accounts, unit: {by: attribute, name: crm_account_id}, compare_to: account}
  support: {counts: requesters, unit: {by: identifier, kind: email}, compare_to: person}
  marketing: {counts: teams, unit: {by: attribute, name: team}, compare_to: person}
"""


def small_contract(tmp_path: Path) -> MetricsContract:
    path = tmp_path / "metrics.yaml"
    path.write_text(SMALL_CONTRACT, encoding="utf-8")
    return load_metrics(path)


def _keys(line: object) -> list[tuple[str | None, tuple[str, ...]]]:
    return [(i.unit, i.record_keys) for i in line.items]  # type: ignore[attr-defined]


def test_each_line_on_a_known_graph(store: GraphStore, tmp_path: Path) -> None:
    store.upsert_records(SMALL)
    store.add_quarantine([QuarantineRow("support", "support.csv", 12, "x,,y", "missing id")])
    Resolver(store).resolve(full=True)
    ent = store.entity_of_records([r.key for r in SMALL])
    ann = ent["crm:1"]
    assert {ent[k] for k in ("billing:7", "support:1", "support:2", "marketing:1")} == {ann}
    report = reconcile(store, small_contract(tmp_path))
    assert report.persons == 6 and report.accounts == 2
    for bridge in report.bridges:
        bridge.check()

    support = report.bridge("support")
    # 4 distinct emails + 1 quarantined row
    assert support.native == 5
    assert support.line("quarantined").count == -1
    assert "support.csv:12" in (support.line("quarantined").items[0].note or "")
    assert _keys(support.line("hub_values")) == [("support@acme.com", ("support:3",))]
    # ann@acme.com and ann.lee@gmail.com are one person: one duplicate
    dup = support.line("duplicates")
    assert dup.count == -1 and _keys(dup) == [("ann@acme.com", ("support:1",))] and dup.items[0].entity_id == ann
    assert support.line("split_units").count == 0 and support.line("no_entity").count == 0
    assert support.reached == 2
    assert [i.entity_id for i in support.line("shared").items] == [ann]
    assert sorted(support.line("shared").items[0].record_keys) == ["support:1", "support:2"]
    assert [i.entity_id for i in support.line("only_here").items] == [ent["support:5"]]
    assert [i.record_keys for i in support.line("unkeyed_records").items] == [("support:4",)]
    assert [i.record_keys for i in support.line("hub_records").items] == [("support:3",)]
    others = {i.entity_id for i in support.line("other_sources").items}
    assert others == {ent["crm:9"], ent["marketing:2"]}
    assert support.resolved == 6

    marketing = report.bridge("marketing")
    # one team "emea" spanning ann and max: a split unit
    assert marketing.native == 1
    split = marketing.line("split_units")
    assert split.count == 1 and split.items[0].unit == "emea"
    assert marketing.reached == 2
    assert marketing.line("other_sources").count == 4

    crm = report.bridge("crm")
    # A1 reaches acme's account; A9's person (lou) has no account evidence, so no account
    assert crm.native == 2
    assert _keys(crm.line("no_entity")) == [("A9", ("crm:9",))]
    assert crm.reached == 1 and crm.resolved == 2
    assert [i.record_keys for i in crm.line("other_sources").items] == [("support:5",)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    result = generate(out, records=2000, seed=1, noise=Noise(bad_row_rate=0.01))
    assert sum(result.bad_rows.values()) > 0  # the quarantine line must be exercised
    return out


def test_bridges_add_up_on_generated_data(store: GraphStore, generated: Path) -> None:
    summaries = load_folder(store, generated)
    Resolver(store).resolve(full=True)
    contract = load_metrics()
    report = reconcile(store, contract)
    counts = store.counts()
    assert (report.persons, report.accounts) == (counts["persons"], counts["accounts"])
    assert sorted(b.source for b in report.bridges) == sorted(contract.reconciliation)
    records = {r.key: r for r in store.iter_records()}
    for bridge in report.bridges:
        bridge.check()
        assert [ln.key for ln in bridge.lines] == list(LINE_KEYS)
        metric = contract.reconciliation[bridge.source]
        own = [r for r in records.values() if r.source == bridge.source]
        keys = {metric.unit.key_of(r) for r in own} - {None}
        quarantined = summaries[bridge.source].quarantined
        # the native count is the source's own rule, recomputed independently here
        assert bridge.native == len(keys) + quarantined
        assert bridge.line("quarantined").count == -quarantined
        assert bridge.resolved == counts[f"{bridge.compare_to}s"]
        # every drill-down record is a real record; lines before `reached` hold this source's
        for ln in bridge.lines:
            for item in ln.items:
                assert all(k in records for k in item.record_keys)
                if ln.key not in ("other_sources", "no_records", "quarantined"):
                    assert item.record_keys and all(records[k].source == bridge.source for k in item.record_keys)
        # the reached entities, recomputed from memberships, are exactly shared + only_here
        reached = {i.entity_id for k in ("shared", "only_here") for i in bridge.line(k).items}
        assert len(reached) == bridge.reached
    assert sum(report.bridge(s).line("quarantined").count for s in contract.reconciliation) < 0
    # hubs exist in the generated data (support@ mailboxes): the hub line is exercised
    assert report.bridge("support").line("hub_values").count < 0


def test_report_serializes_with_and_without_drill_down(sqlite_store: GraphStore, tmp_path: Path) -> None:
    sqlite_store.upsert_records(SMALL)
    Resolver(sqlite_store).resolve(full=True)
    report = reconcile(sqlite_store, small_contract(tmp_path))
    full = report.to_dict()
    slim = report.to_dict(drill_down=False)
    assert full["contract_version"].startswith("t-1+")
    assert "items" in full["bridges"][0]["lines"][0] and "items" not in slim["bridges"][0]["lines"][0]
