"""GraphQL for the reports: `reconciliation` (with drill-down) and `exceptions`.

Transport only: each root field makes one call into `graphstore.reconcile` or
`graphstore.exceptions` through the store gateway (off the event loop) and wraps the
result. Drill-down lists and exception lists are Relay connections (`Page`), so a
client pages through thousands of record keys without one huge response. Readable by
stewards, auditors and admins (`CanReview`), not by apps.
"""

from __future__ import annotations

import os
from datetime import datetime
from enum import Enum

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from graphstore.exceptions import KINDS, ExceptionItem
from graphstore.exceptions import exceptions as find_exceptions
from graphstore.metrics import MetricsContract, MetricsError, load_metrics
from graphstore.reconcile import BREAKDOWN, STEP, Bridge, BridgeLine, DrillItem, reconcile

from .auth import CanReview
from .context import ctx
from .errors import bad_input
from .pagination import Page


@strawberry.enum(description="The exception reports a steward reviews.")
class ExceptionKind(Enum):
    CONFLICTING_ATTRIBUTES = "conflicting_attributes"
    STALE_RECORDS = "stale_records"
    MISSING_IDENTIFIERS = "missing_identifiers"
    HUB_IDENTIFIERS = "hub_identifiers"
    NEAR_MISSES = "near_misses"


assert {k.value for k in ExceptionKind} == set(KINDS)


@strawberry.enum(description="A bridge step changes the running total; a breakdown splits a subtotal.")
class BridgeLineKind(Enum):
    STEP = STEP
    BREAKDOWN = BREAKDOWN


@strawberry.type(name="DrillItem", description="One unit of a bridge line's count and the records behind it.")
class DrillItemNode:
    unit: str | None = strawberry.field(description="The source's counting key (domain, payment entity...), if any.")
    entity_id: strawberry.ID | None = strawberry.field(description="The resolved entity this item is about, if any.")
    record_keys: list[str] = strawberry.field(description="SOURCE:ID keys of the records behind this item.")
    note: str | None = strawberry.field(description="Why, where it helps (a hub's reason, a quarantined row).")

    @classmethod
    def of(cls, item: DrillItem) -> DrillItemNode:
        return cls(
            unit=item.unit,
            entity_id=strawberry.ID(item.entity_id) if item.entity_id else None,
            record_keys=list(item.record_keys),
            note=item.note,
        )


@strawberry.type(name="BridgeLine", description="One line of a source's bridge from native to resolved count.")
class BridgeLineNode:
    key: str
    label: str
    description: str
    kind: BridgeLineKind
    count: int = strawberry.field(description="Steps: what the line adds to the running total (signed).")
    line: strawberry.Private[BridgeLine]

    @relay.connection(Page[DrillItemNode], description="The items behind the count, one per unit of it.")
    def items(self) -> list[DrillItemNode]:
        return [DrillItemNode.of(i) for i in self.line.items]

    @classmethod
    def of(cls, line: BridgeLine) -> BridgeLineNode:
        return cls(
            key=line.key, label=line.label, description=line.description,
            kind=BridgeLineKind(line.kind), count=line.count, line=line,
        )


@strawberry.type(name="SourceReconciliation", description="One source: native count, bridge lines, resolved count.")
class SourceReconciliationNode:
    source: str
    counts: str = strawberry.field(description="What the source's own count counts, per the metrics contract.")
    unit: str = strawberry.field(description="The counting rule, in words.")
    compare_to: str = strawberry.field(description="person or account: the resolved kind compared with.")
    native_count: int
    reached_count: int = strawberry.field(description="Distinct entities reached by the source's counted units.")
    resolved_count: int
    lines: list[BridgeLineNode]

    @classmethod
    def of(cls, b: Bridge) -> SourceReconciliationNode:
        return cls(
            source=b.source, counts=b.counts, unit=b.unit, compare_to=b.compare_to, native_count=b.native,
            reached_count=b.reached, resolved_count=b.resolved, lines=[BridgeLineNode.of(ln) for ln in b.lines],
        )


@strawberry.type(name="Reconciliation", description="Why each source's customer count differs from the resolved one.")
class ReconciliationNode:
    contract_version: str
    rule_version: str
    generated_at: str
    persons: int
    accounts: int
    records: int
    sources: list[SourceReconciliationNode]


@strawberry.type(name="ExceptionItem", description="One thing a steward should review.")
class ExceptionNode:
    kind: ExceptionKind
    key: str = strawberry.field(description="Stable id: entity:attribute, record key, identifier key or a|b pair.")
    summary: str
    score: float | None = strawberry.field(description="What the list is ordered by (days, degree, match score...).")
    entity_ids: list[strawberry.ID]
    record_keys: list[str]
    details: JSON

    @classmethod
    def of(cls, item: ExceptionItem) -> ExceptionNode:
        return cls(
            kind=ExceptionKind(item.kind), key=item.key, summary=item.summary, score=item.score,
            entity_ids=[strawberry.ID(e) for e in item.entity_ids], record_keys=list(item.record_keys),
            details=item.details,
        )


def _contract() -> MetricsContract:
    """The contract the server reports under: $ENTITYSTORE_METRICS, or the shipped one."""
    try:
        return load_metrics(os.environ.get("ENTITYSTORE_METRICS") or None)
    except MetricsError as exc:
        raise bad_input(str(exc)) from None


@strawberry.type
class ReportQueries:
    """Root fields of the reports; `Query` inherits them."""

    @strawberry.field(
        permission_classes=[CanReview],
        description="Per source: its native customer count, the bridge lines (each with drill-down to record "
        "keys) and the resolved count. Optionally only some sources.",
    )
    async def reconciliation(self, info: strawberry.Info, sources: list[str] | None = None) -> ReconciliationNode:
        context = ctx(info)
        contract, rules = _contract(), context.rules
        if sources:
            unknown = sorted(set(sources) - set(contract.reconciliation))
            if unknown:
                raise bad_input(
                    f"argument 'sources': no metrics for {', '.join(unknown)}; "
                    f"expected some of: {', '.join(sorted(contract.reconciliation))}"
                )
        report = await context.gateway.call(lambda s: reconcile(s, contract, rules))
        bridges = [b for b in report.bridges if not sources or b.source in sources]
        return ReconciliationNode(
            contract_version=report.contract_version, rule_version=report.rule_version,
            generated_at=report.generated_at, persons=report.persons, accounts=report.accounts,
            records=report.records, sources=[SourceReconciliationNode.of(b) for b in bridges],
        )

    @relay.connection(
        Page[ExceptionNode],
        permission_classes=[CanReview],
        description="Exception reports in their documented order; every kind (in kind order) when no kind is given.",
    )
    async def exceptions(
        self, info: strawberry.Info, kind: ExceptionKind | None = None, as_of: str | None = None
    ) -> list[ExceptionNode]:
        context = ctx(info)
        policy, rules = _contract().exceptions, context.rules
        kinds = [kind.value] if kind else list(KINDS)
        if as_of is not None:
            try:
                datetime.fromisoformat(as_of.replace("Z", "+00:00"))
            except ValueError:
                raise bad_input(f"argument 'asOf': expected an ISO-8601 time, got {as_of!r}") from None
        found = await context.gateway.call(
            lambda s: [i for k in kinds for i in find_exceptions(s, k, policy, rules, as_of=as_of)]
        )
        return [ExceptionNode.of(i) for i in found]
