"""Exception reports: the records and entities a data steward should look at.

Five kinds, each a plain ordered list of `ExceptionItem`s computed from what the store
holds now (the policy comes from the metrics contract, `metrics.yaml` `exceptions:`):

- `conflicting_attributes`: a person entity whose records disagree on a critical
  attribute (normalized values compared without case, spacing or accents) and the
  disagreement crosses sources: at least two distinct values, carried by records of
  at least two sources (then some two records of different sources disagree). One item per
  (entity, attribute); ordered by entity id, then the attribute's place in the policy.
- `stale_records`: records whose source `updated_at` is more than the source's stale
  days before `as_of`; a record without any `updated_at` is listed too (its freshness
  cannot be shown). Oldest first.
- `missing_identifiers`: records lacking an identifier kind their source requires.
  Ordered by record key.
- `hub_identifiers`: identifiers the rules refuse as evidence (shared by too many
  records, or matching a deny pattern), with a sample of the records carrying them.
  Most shared first.
- `near_misses`: scored pairs just under the match threshold whose records sit in
  different entities: the steward review queue, highest score first. (A near miss
  between two records already in one entity needs no review and is left out.)

Each kind reads the store once, streaming (`iter_records`, `iter_matches`), so the
work is linear in the store's size.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .metrics import ExceptionPolicy, load_metrics
from .model import NEAR_MISS, split_record_key
from .rules import Rules, load_rules
from .store import GraphStore

KINDS = ("conflicting_attributes", "stale_records", "missing_identifiers", "hub_identifiers", "near_misses")
_HUB_SAMPLE = 20
_CHUNK = 10_000


class UnknownKind(ValueError):
    """An exception kind we do not report; the message lists the ones we do."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown exception kind {kind!r}; expected one of: {', '.join(KINDS)}")


@dataclass(frozen=True, slots=True)
class ExceptionItem:
    """One thing to review. `key` is stable across runs on the same data (cursor, dedup)."""

    kind: str
    key: str
    summary: str
    score: float | None = None
    entity_ids: tuple[str, ...] = ()
    record_keys: tuple[str, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)


def _parse_time(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def comparable(value: str) -> str:
    """What two values must share to agree: case, spacing and accents do not count
    (Sébastien and Sebastien are one spelling in two systems, not a conflict)."""
    folded = unicodedata.normalize("NFKD", value.casefold())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


def conflicting_attributes(store: GraphStore, policy: ExceptionPolicy) -> list[ExceptionItem]:
    attributes = policy.critical_attributes
    entity_of = store.all_memberships()
    # entity -> attribute -> comparable value -> record keys
    seen: dict[str, dict[str, dict[str, list[str]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for record in store.iter_records():
        entity = entity_of.get(record.key)
        if entity is None:
            continue
        for attr in attributes:
            value = record.norm.get(attr)
            if value is None:
                raw = record.attrs.get(attr)
                value = str(raw) if raw not in (None, "", []) else None
            if value and comparable(value):
                seen[entity][attr][comparable(value)].append(record.key)
    items: list[ExceptionItem] = []
    for entity in sorted(seen):
        for attr in attributes:
            values = seen[entity].get(attr)
            if not values or len(values) < 2:
                continue
            sources = {split_record_key(k)[0] for keys in values.values() for k in keys}
            if len(sources) < 2:
                continue
            shown = {v: sorted(keys) for v, keys in sorted(values.items())}
            items.append(
                ExceptionItem(
                    kind="conflicting_attributes",
                    key=f"{entity}:{attr}",
                    summary=f"{attr}: " + " | ".join(
                        f"{v!r} ({', '.join(sorted({split_record_key(k)[0] for k in ks}))})" for v, ks in shown.items()
                    ),
                    score=float(len(values)),
                    entity_ids=(entity,),
                    record_keys=tuple(sorted(k for ks in values.values() for k in ks)),
                    details={"attribute": attr, "values": shown, "sources": sorted(sources)},
                )
            )
    return items


def stale_records(store: GraphStore, policy: ExceptionPolicy, as_of: str | None = None) -> list[ExceptionItem]:
    now = _parse_time(as_of) if as_of else datetime.now(timezone.utc)
    if now is None:
        raise ValueError(f"as_of {as_of!r} is not an ISO-8601 time")
    found: list[tuple[float, str, ExceptionItem]] = []
    for record in store.iter_records():
        limit = policy.stale_days_for(record.source)
        updated = _parse_time(record.updated_at) if record.updated_at else None
        if updated is None:
            item = ExceptionItem(
                "stale_records", record.key, "no update time from the source",
                record_keys=(record.key,), details={"updated_at": record.updated_at, "stale_days": limit},
            )
            found.append((float("inf"), record.key, item))
            continue
        age = (now - updated).total_seconds() / 86400
        if age > limit:
            days = int(age)
            item = ExceptionItem(
                "stale_records", record.key, f"not updated for {days:,} days (limit {limit:,})", score=float(days),
                record_keys=(record.key,), details={"updated_at": record.updated_at, "days": days, "stale_days": limit},
            )
            found.append((age, record.key, item))
    found.sort(key=lambda t: (-t[0], t[1]))
    return [item for _, _, item in found]


def missing_identifiers(store: GraphStore, policy: ExceptionPolicy) -> list[ExceptionItem]:
    items: list[ExceptionItem] = []
    for source, required in sorted(policy.required_identifiers.items()):
        if not required:
            continue
        for record in store.iter_records(source=source):
            kinds = {i.kind for i in record.identifiers}
            missing = [k for k in required if k not in kinds]
            if missing:
                items.append(
                    ExceptionItem(
                        "missing_identifiers", record.key, "missing " + ", ".join(missing),
                        score=float(len(missing)), record_keys=(record.key,),
                        details={"missing": missing, "required": list(required)},
                    )
                )
    items.sort(key=lambda i: i.key)
    return items


def hub_identifiers(store: GraphStore, rules: Rules) -> list[ExceptionItem]:
    thresholds = [r.max_degree for r in rules.evidence.values() if r.max_degree is not None]
    candidates: dict[str, int] = {}
    if thresholds:
        for ident in store.hub_identifiers(min_degree=min(thresholds) + 1, limit=1_000_000):
            candidates[ident.key] = ident.degree
    denied = {kind: r.deny for kind, r in rules.evidence.items() if r.deny}
    if denied:  # deny-pattern hubs can have any degree: find them in the records
        patterns = {kind: re.compile("|".join(fnmatch.translate(p) for p in pats)) for kind, pats in denied.items()}
        hits: set[str] = set()
        for record in store.iter_records():
            for ident in record.identifiers:
                pattern = patterns.get(ident.kind)
                if pattern is not None and pattern.match(ident.value):
                    hits.add(ident.key)
        hits -= candidates.keys()
        for ik, ident in store.get_identifiers(sorted(hits)).items():
            candidates[ik] = ident.degree
    guarded: list[tuple[str, int, str]] = []
    for ik, degree in candidates.items():
        kind, _, value = ik.partition(":")
        reason = rules.guard(kind, value, degree) if kind in rules.evidence else None
        if reason:
            guarded.append((ik, degree, reason))
    guarded.sort(key=lambda t: (-t[1], t[0]))
    samples: dict[str, list[str]] = {}
    keys = [ik for ik, _, _ in guarded]
    for i in range(0, len(keys), _CHUNK):
        samples.update(store.records_with_identifiers(keys[i : i + _CHUNK], limit=_HUB_SAMPLE))
    entity_of = store.entity_of_records({k for ks in samples.values() for k in ks})
    return [
        ExceptionItem(
            "hub_identifiers", ik, f"{reason}", score=float(degree),
            entity_ids=tuple(sorted({entity_of[k] for k in samples.get(ik, []) if k in entity_of})),
            record_keys=tuple(samples.get(ik, [])),
            details={"degree": degree, "reason": reason, "sample_size": len(samples.get(ik, []))},
        )
        for ik, degree, reason in guarded
    ]


def near_misses(store: GraphStore, rules: Rules) -> list[ExceptionItem]:
    edges = list(store.iter_matches(decision=NEAR_MISS))
    entity_of: dict[str, str] = {}
    ends = sorted({k for e in edges for k in e.pair})
    for i in range(0, len(ends), _CHUNK):
        entity_of.update(store.entity_of_records(ends[i : i + _CHUNK]))
    items: list[ExceptionItem] = []
    for e in edges:
        ea, eb = entity_of.get(e.a), entity_of.get(e.b)
        if ea is not None and ea == eb:
            continue
        counted = [ev.kind for ev in e.evidence if ev.counted]
        items.append(
            ExceptionItem(
                "near_misses", f"{e.a}|{e.b}",
                f"score {e.score:.2f} of {rules.threshold:.2f} ({', '.join(counted) or 'no counted evidence'})",
                score=e.score,
                entity_ids=tuple(x for x in (ea, eb) if x is not None),
                record_keys=(e.a, e.b),
                details={
                    "gap": round(rules.threshold - e.score, 6), "rule_version": e.rule_version,
                    "evidence": [ev.to_dict() for ev in e.evidence],
                },
            )
        )
    items.sort(key=lambda i: (-(i.score or 0.0), i.key))
    return items


def exceptions(
    store: GraphStore,
    kind: str,
    policy: ExceptionPolicy | None = None,
    rules: Rules | None = None,
    as_of: str | None = None,
) -> list[ExceptionItem]:
    """The exception list of one kind, in its documented order."""
    if kind not in KINDS:
        raise UnknownKind(kind)
    policy = policy or load_metrics().exceptions
    rules = rules or load_rules()
    run: dict[str, Callable[[], list[ExceptionItem]]] = {
        "conflicting_attributes": lambda: conflicting_attributes(store, policy),
        "stale_records": lambda: stale_records(store, policy, as_of),
        "missing_identifiers": lambda: missing_identifiers(store, policy),
        "hub_identifiers": lambda: hub_identifiers(store, rules),
        "near_misses": lambda: near_misses(store, rules),
    }
    return run[kind]()


def check_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds asked for, or UnknownKind naming the first bad one."""
    out = list(kinds)
    for k in out:
        if k not in KINDS:
            raise UnknownKind(k)
    return out
