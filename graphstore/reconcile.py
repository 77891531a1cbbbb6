"""Reconciliation: why each source's customer count differs from the resolved count.

For every source S in the metrics contract the report walks, line by line, from S's
native count N_S (its own counting rule: distinct domains, payment entities, user
IDs...) to the resolved count T of the entity kind S is compared with (persons or
accounts). Every line is a set of drill-down items (a unit value and/or an entity id,
with the record keys behind it), one item per unit of the line's count, so every
number can be checked record by record.

The bridge of one source (signs are the `count` of each step line):

    N_S                 native units: distinct counting keys of S's loaded records,
                        plus each quarantined row of S (its key could not be read, so
                        it counts as one unit, as the source system counts the row)
    - quarantined       quarantined rows of S: never loaded, so resolve to nothing
    - hub_values        units whose value is a hub identifier under the rules (a
                        reseller's payment entity, support@...): the source counts one
                        customer, resolution ignores it as evidence
    - no_entity         units none of whose records reached an entity of the target
                        kind (not yet resolved, or a person without an account)
    + split_units       one unit that reaches several entities: +1 for each entity
                        after the first (e.g. one payment entity paying for two
                        companies)
    - duplicates        several units of S that resolve to one entity: -1 for each
                        unit after the first (duplicates inside the source)
    = reached           E_S: distinct entities reached by S's counted units, which
                        the two breakdown lines split into
                          shared      also carrying records of another source
                          only_here   carrying records of S only
    + unkeyed_records   entities reached only by S records without a counting key
                        (records excluded by S's own rule, e.g. a contact with no
                        domain)
    + hub_records       entities reached only by S records whose key is a hub value
    + other_sources     entities no record of S reaches: customers S does not know
    + no_records        entities of the target kind with no member record at all
    = T                 the resolved count

Exactness: N_S - q - h - z + sum_u(|E(u)|-1) - sum_e(deg(e)-1) = E_S, because both
sums count the same unit-entity edges; the last four lines partition the target
entities outside E_S. `Bridge.check()` asserts both, and the tests run it on
generated data against both stores.

Work is linear: one streaming pass over the records (`iter_records`), one read of the
memberships, person->account lookups in chunks; nothing pairwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .metrics import IdentifierUnit, MetricsContract, load_metrics
from .model import ACCOUNT, PERSON, utcnow
from .rules import Rules, load_rules
from .store import GraphStore

STEP = "step"
BREAKDOWN = "breakdown"
_CHUNK = 10_000

# (key, label, description) in bridge order; `kind` follows from the key.
LINES: tuple[tuple[str, str, str], ...] = (
    ("quarantined", "quarantined rows", "rows of this source the loader rejected; never in the store"),
    ("hub_values", "hub values ignored", "units whose value is a hub identifier: not a customer, not evidence"),
    ("no_entity", "units reaching no entity", "units none of whose records belongs to an entity of the target kind"),
    ("split_units", "units split across entities", "one unit reaching several entities: +1 per entity after the first"),
    ("duplicates", "duplicates inside source", "several units resolving to one entity: -1 per unit after the first"),
    ("shared", "shared with other sources", "reached entities that also hold records of another source"),
    ("only_here", "only in this source", "reached entities holding records of this source only"),
    ("unkeyed_records", "records without a counting key", "entities reached only by records lacking the counting key"),
    ("hub_records", "records with hub values", "entities reached only by records whose counting key is a hub"),
    ("other_sources", "only in other sources", "entities no record of this source reaches"),
    ("no_records", "entities without records", "entities of the target kind with no member record"),
)
_BREAKDOWN_KEYS = frozenset({"shared", "only_here"})
LINE_KEYS = tuple(k for k, _, _ in LINES)


@dataclass(frozen=True, slots=True)
class DrillItem:
    """One unit of a line's count: the unit value and/or entity, and the records behind it."""

    unit: str | None
    entity_id: str | None
    record_keys: tuple[str, ...]
    note: str | None = None


@dataclass(slots=True)
class BridgeLine:
    key: str
    label: str
    description: str
    kind: Literal["step", "breakdown"]
    count: int  # signed for steps (what the line adds to the running total), plain for breakdowns
    items: list[DrillItem] = field(default_factory=list)


@dataclass(slots=True)
class Bridge:
    """One source's walk from its native count to the resolved count."""

    source: str
    counts: str
    unit: str
    compare_to: str
    native: int
    reached: int
    resolved: int
    lines: list[BridgeLine] = field(default_factory=list)

    def line(self, key: str) -> BridgeLine:
        for ln in self.lines:
            if ln.key == key:
                return ln
        raise KeyError(key)

    def steps(self) -> list[BridgeLine]:
        return [ln for ln in self.lines if ln.kind == STEP]

    def check(self) -> None:
        """Raise AssertionError unless the bridge adds up exactly at both ends and in between."""
        before = [ln for ln in self.steps() if ln.key in ("quarantined", "hub_values", "no_entity", "split_units", "duplicates")]
        after = [ln for ln in self.steps() if ln not in before]
        if self.native + sum(ln.count for ln in before) != self.reached:
            raise AssertionError(f"{self.source}: native {self.native} + steps != reached {self.reached}")
        if self.reached + sum(ln.count for ln in after) != self.resolved:
            raise AssertionError(f"{self.source}: reached {self.reached} + steps != resolved {self.resolved}")
        breakdown = sum(ln.count for ln in self.lines if ln.kind == BREAKDOWN)
        if breakdown != self.reached:
            raise AssertionError(f"{self.source}: shared + only here = {breakdown} != reached {self.reached}")
        for ln in self.lines:
            if len(ln.items) != abs(ln.count):
                raise AssertionError(f"{self.source}/{ln.key}: {len(ln.items)} drill-down items for count {ln.count}")


@dataclass(slots=True)
class Reconciliation:
    """The whole report: resolved totals and one bridge per source in the contract."""

    contract_version: str
    rule_version: str
    generated_at: str
    persons: int
    accounts: int
    records: int
    bridges: list[Bridge] = field(default_factory=list)

    def bridge(self, source: str) -> Bridge:
        for b in self.bridges:
            if b.source == source:
                return b
        raise KeyError(source)

    def to_dict(self, drill_down: bool = True) -> dict[str, Any]:
        data = asdict(self)
        if not drill_down:
            for b in data["bridges"]:
                for ln in b["lines"]:
                    ln.pop("items")
        return data


def _chunks(items: list[str], size: int = _CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def reconcile(
    store: GraphStore, contract: MetricsContract | None = None, rules: Rules | None = None
) -> Reconciliation:
    """Build the reconciliation report from what the store holds now."""
    contract = contract or load_metrics()
    rules = rules or load_rules()
    person_of = store.all_memberships()
    persons = sorted(set(person_of.values()))
    account_of: dict[str, str] = {}
    for chunk in _chunks(persons):
        account_of.update(store.accounts_of(chunk))

    source_bit = {s: 1 << i for i, s in enumerate(sorted(contract.reconciliation))}
    other_bit = 1 << len(source_bit)  # every source outside the contract
    reach: dict[str, dict[str, int]] = {PERSON: defaultdict(int), ACCOUNT: defaultdict(int)}
    # Records per entity, kept for drill-down of the "only in other sources" lines.
    records_of: dict[str, dict[str, list[str]]] = {PERSON: defaultdict(list), ACCOUNT: defaultdict(list)}
    unit_records: dict[str, dict[str, list[str]]] = {s: defaultdict(list) for s in contract.reconciliation}
    unkeyed: dict[str, list[str]] = {s: [] for s in contract.reconciliation}
    degree_kinds = {
        m.unit.kind for m in contract.reconciliation.values() if isinstance(m.unit, IdentifierUnit)
    }
    degrees: dict[str, int] = defaultdict(int)
    total_records = 0

    for record in store.iter_records():
        total_records += 1
        key = record.key
        bit = source_bit.get(record.source, other_bit)
        person = person_of.get(key)
        if person is not None:
            reach[PERSON][person] |= bit
            records_of[PERSON][person].append(key)
            account = account_of.get(person)
            if account is not None:
                reach[ACCOUNT][account] |= bit
                records_of[ACCOUNT][account].append(key)
        for ik in {i.key for i in record.identifiers if i.kind in degree_kinds}:
            degrees[ik] += 1
        metric = contract.reconciliation.get(record.source)
        if metric is None:
            continue
        unit = metric.unit.key_of(record)
        if unit is None:
            unkeyed[record.source].append(key)
        else:
            unit_records[record.source][unit].append(key)

    counts = store.counts()
    totals = {PERSON: counts.get("persons", 0), ACCOUNT: counts.get("accounts", 0)}

    def entity_of(kind: str, record_key: str) -> str | None:
        person = person_of.get(record_key)
        if person is None or kind == PERSON:
            return person
        return account_of.get(person)

    def unreached_ids(kind: str, reached_any: set[str], missing: int) -> list[str]:
        if missing <= 0:
            return []
        out: list[str] = []
        after: str | None = None
        while True:
            page = store.list_entities(kind=kind, after=after, limit=5000)
            if not page:
                return out
            out.extend(e.id for e in page if e.id not in reached_any)
            after = page[-1].id

    bridges: list[Bridge] = []
    for source in sorted(contract.reconciliation):
        metric = contract.reconciliation[source]
        kind = metric.compare_to
        bit = source_bit[source]
        units = unit_records[source]
        quarantine = store.quarantined(source=source)
        lines = {k: BridgeLine(k, label, desc, BREAKDOWN if k in _BREAKDOWN_KEYS else STEP, 0) for k, label, desc in LINES}

        lines["quarantined"].items = [
            DrillItem(None, None, (), f"{q.file}:{q.line}: {q.reason}") for q in quarantine
        ]
        hub_units: dict[str, str] = {}
        if isinstance(metric.unit, IdentifierUnit) and metric.unit.kind in rules.evidence:
            for value in units:
                reason = rules.guard(metric.unit.kind, value, degrees.get(f"{metric.unit.kind}:{value}", 0))
                if reason:
                    hub_units[value] = reason
        lines["hub_values"].items = [
            DrillItem(v, None, tuple(units[v]), hub_units[v]) for v in sorted(hub_units)
        ]

        units_of_entity: dict[str, list[str]] = defaultdict(list)
        for value in sorted(units):
            if value in hub_units:
                continue
            by_entity: dict[str, list[str]] = defaultdict(list)
            for rk in units[value]:
                ent = entity_of(kind, rk)
                if ent is not None:
                    by_entity[ent].append(rk)
            if not by_entity:
                lines["no_entity"].items.append(DrillItem(value, None, tuple(units[value])))
                continue
            for i, ent in enumerate(sorted(by_entity)):
                units_of_entity[ent].append(value)
                if i:
                    lines["split_units"].items.append(DrillItem(value, ent, tuple(by_entity[ent])))
        reached = set(units_of_entity)
        for ent in sorted(units_of_entity):
            for value in units_of_entity[ent][1:]:
                recs = tuple(rk for rk in units[value] if entity_of(kind, rk) == ent)
                lines["duplicates"].items.append(DrillItem(value, ent, recs))
            own = tuple(rk for v in units_of_entity[ent] for rk in units[v] if entity_of(kind, rk) == ent)
            target = "shared" if reach[kind][ent] & ~bit else "only_here"
            lines[target].items.append(DrillItem(None, ent, own))

        seen = set(reached)
        for line_key, keys in (
            ("unkeyed_records", unkeyed[source]),
            ("hub_records", [rk for v in sorted(hub_units) for rk in units[v]]),
        ):
            grouped: dict[str, list[str]] = defaultdict(list)
            for rk in keys:
                ent = entity_of(kind, rk)
                if ent is not None and ent not in seen:
                    grouped[ent].append(rk)
            lines[line_key].items = [DrillItem(None, e, tuple(grouped[e])) for e in sorted(grouped)]
            seen.update(grouped)
        others = sorted(e for e, bits in reach[kind].items() if not bits & bit)
        lines["other_sources"].items = [DrillItem(None, e, tuple(records_of[kind][e])) for e in others]
        seen.update(others)
        lines["no_records"].items = [
            DrillItem(None, e, ()) for e in unreached_ids(kind, seen, totals[kind] - len(seen))
        ]

        signs = {"quarantined": -1, "hub_values": -1, "no_entity": -1, "duplicates": -1}
        for ln in lines.values():
            ln.count = signs.get(ln.key, 1) * len(ln.items)
        bridges.append(
            Bridge(
                source=source,
                counts=metric.counts,
                unit=metric.unit.describe(),
                compare_to=kind,
                native=len(units) + len(quarantine),
                reached=len(reached),
                resolved=totals[kind],
                lines=[lines[k] for k in LINE_KEYS],
            )
        )
    return Reconciliation(
        contract_version=contract.full_version,
        rule_version=rules.rule_version,
        generated_at=utcnow(),
        persons=totals[PERSON],
        accounts=totals[ACCOUNT],
        records=total_records,
        bridges=bridges,
    )
