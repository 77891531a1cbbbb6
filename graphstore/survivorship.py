"""Survivorship: many source records in, one golden record with provenance out.

Pure logic, no store: `golden_record(records, rules)` picks, per attribute, the value
that survives and says why (which source, which record, how fresh, which rule chose it)
and which conflicting values lost. The rules are data (`graphstore/defaults/
survivorship.yaml`, validated here); the rules tried per attribute are, in the
configured order:

- source_priority: keep only the candidates of the best-ranked source present;
- most_recent: keep only the candidates with the newest source timestamp;
- most_frequent: keep only the value carried by the most records.

Guarantees (tested, some as properties):
- an empty value is never a candidate, so it never overwrites a non-empty one;
- a lower-priority source never beats a higher-priority one, however new its value
  (no "sync storms" where the last system to write wins);
- the result does not depend on the order of the records;
- when rules leave a tie, the smallest value (then record key) wins, so it is stable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .model import Record
from .config import load_versioned

SOURCE_PRIORITY = "source_priority"
MOST_RECENT = "most_recent"
MOST_FREQUENT = "most_frequent"
# Provenance names for outcomes that no configured rule decided.
SINGLE_VALUE = "single_value"  # every candidate carried the same value
TIEBREAK = "tiebreak"  # the rules left a tie; the smallest value won

RuleName = Literal["source_priority", "most_recent", "most_frequent"]
_NAME = r"^[a-z][a-z0-9_]*$"


class SurvivorshipError(ValueError):
    """A survivorship config that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AttributeRule(_Strict):
    """Where one golden attribute's candidates come from and how one of them survives."""

    fields: tuple[str, ...] = ()
    identifier: str | None = Field(default=None, pattern=_NAME)
    identifier_fields: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    exclusive: bool = False
    value: Literal["original", "normalized"] = "original"
    order: tuple[RuleName, ...] | None = None

    @field_validator("priority")
    @classmethod
    def _unique_sources(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for s in v:
            if not re.match(_NAME, s):
                raise ValueError(f"expected source names (lowercase letters, digits, _), got {s!r}")
        if len(set(v)) != len(v):
            raise ValueError("a source is listed twice")
        return v

    @field_validator("order")
    @classmethod
    def _unique_rules(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a rule is listed twice")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> AttributeRule:
        if self.identifier and self.fields:
            raise ValueError("give either fields or identifier, not both")
        if self.identifier_fields and not self.identifier:
            raise ValueError("identifier_fields needs identifier")
        if self.exclusive and not self.priority:
            raise ValueError("exclusive needs a priority list of the sources allowed")
        return self


class Survivorship(_Strict):
    """The whole survivorship config: golden attributes of persons and of accounts."""

    version: str = Field(min_length=1)
    order: tuple[RuleName, ...] = (SOURCE_PRIORITY, MOST_RECENT, MOST_FREQUENT)
    person: dict[str, AttributeRule] = Field(min_length=1)
    account: dict[str, AttributeRule] = Field(min_length=1)
    content_hash: str = ""

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @field_validator("person", "account")
    @classmethod
    def _names(cls, v: dict[str, AttributeRule]) -> dict[str, AttributeRule]:
        for name in v:
            if not re.match(_NAME, name):
                raise ValueError(f"attribute names must be lowercase names (letters, digits, _), got {name!r}")
        return v

    @cached_property
    def config_version(self) -> str:
        """What every golden record carries: the declared version plus a content hash."""
        return f"{self.version}+{self.content_hash[:8]}" if self.content_hash else self.version

    def section(self, kind: str) -> dict[str, AttributeRule]:
        return self.account if kind == "account" else self.person

    def order_of(self, rule: AttributeRule) -> tuple[str, ...]:
        return rule.order if rule.order is not None else self.order

    @cached_property
    def attribute_names(self) -> tuple[str, ...]:
        """Every golden attribute name, persons' first: the export's column order."""
        return tuple(dict.fromkeys([*self.person, *self.account]))


def load_survivorship(path: str | Path | None = None) -> Survivorship:
    """The survivorship config at `path`, or the shipped default."""
    return load_versioned(path, "survivorship.yaml", Survivorship, SurvivorshipError, "survivorship")


# -- results ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Candidate:
    """One non-empty value one record offers for an attribute.

    `key` is what "the same value" means (the normalized form), `value` what is shown.
    """

    value: str
    key: str
    source: str
    record: str
    updated_at: str | None = None


@dataclass(frozen=True, slots=True)
class Alternative:
    """A conflicting value that lost, shown by its best record; `records` carry it."""

    value: str
    source: str
    record: str
    updated_at: str | None
    records: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "record": self.record,
                "updated_at": self.updated_at, "records": self.records}


@dataclass(frozen=True, slots=True)
class GoldenValue:
    """The surviving value of one attribute, with its provenance and the values it beat."""

    value: str
    source: str
    record: str
    updated_at: str | None
    rule: str
    records: int
    alternatives: tuple[Alternative, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source, "record": self.record,
                "updated_at": self.updated_at, "rule": self.rule, "records": self.records,
                "alternatives": [a.to_dict() for a in self.alternatives]}


@dataclass(slots=True)
class GoldenRecord:
    """An entity's golden attributes (only those with at least one candidate)."""

    entity_id: str
    kind: str
    version: str
    attributes: dict[str, GoldenValue] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        return {k: v.value for k, v in self.attributes.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"entity_id": self.entity_id, "kind": self.kind, "version": self.version,
                "attributes": {k: v.to_dict() for k, v in self.attributes.items()}}


# -- the rules ----------------------------------------------------------------------------------
def _text(value: Any) -> str:
    """A record value as one trimmed line; lists give their first non-empty item."""
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if _text(v)), "")
    if type(value) is str:
        return " ".join(value.split())
    if value is None or isinstance(value, (dict, bool)):
        return ""
    return " ".join(str(value).split())


def _key(text: str) -> str:
    return text.casefold()


def _source_rank(rule: AttributeRule, source: str) -> int:
    try:
        return rule.priority.index(source)
    except ValueError:
        return len(rule.priority)


def _sort_best_first(rule: AttributeRule, cands: list[Candidate]) -> None:
    """Order candidates best first: priority, then newest (undated last), then by record.

    Used to pick the record that represents a value; it never decides between values.
    Three stable sorts, least significant key first.
    """
    cands.sort(key=lambda c: (c.record, c.value))
    cands.sort(key=lambda c: c.updated_at or "", reverse=True)
    cands.sort(key=lambda c: _source_rank(rule, c.source))


def survive(candidates: Iterable[Candidate], rule: AttributeRule, order: Sequence[str]) -> GoldenValue | None:
    """The surviving value among `candidates` (None when there is none).

    Empty values are dropped first; with `exclusive`, so are unlisted sources. Each rule
    in `order` then narrows the candidates; the provenance names the rule that left one
    value standing.
    """
    cands = [c for c in candidates if c.value and c.key]
    if rule.exclusive:
        allowed = set(rule.priority)
        cands = [c for c in cands if c.source in allowed]
    if not cands:
        return None
    _sort_best_first(rule, cands)
    records_of: dict[str, set[str]] = {}
    for c in cands:
        records_of.setdefault(c.key, set()).add(c.record)

    remaining = cands
    decided_by = SINGLE_VALUE if len(records_of) == 1 else ""
    for name in order:
        if decided_by:
            break
        if name == SOURCE_PRIORITY:
            best = min(_source_rank(rule, c.source) for c in remaining)
            remaining = [c for c in remaining if _source_rank(rule, c.source) == best]
        elif name == MOST_RECENT:
            newest = max(c.updated_at or "" for c in remaining)
            remaining = [c for c in remaining if (c.updated_at or "") == newest]
        elif name == MOST_FREQUENT:
            counts: dict[str, set[str]] = {}
            for c in remaining:
                counts.setdefault(c.key, set()).add(c.record)
            top = max(len(r) for r in counts.values())
            remaining = [c for c in remaining if len(counts[c.key]) == top]
        if len({c.key for c in remaining}) == 1:
            decided_by = name
    if not decided_by:
        decided_by = TIEBREAK
        smallest = min(c.key for c in remaining)
        remaining = [c for c in remaining if c.key == smallest]
    winner = remaining[0]  # cands (and so remaining) are sorted best first

    alternatives: list[Alternative] = []
    seen = {winner.key}
    for c in cands:
        if c.key not in seen:
            seen.add(c.key)
            alternatives.append(Alternative(c.value, c.source, c.record, c.updated_at, len(records_of[c.key])))
    return GoldenValue(
        winner.value, winner.source, winner.record, winner.updated_at, decided_by,
        len(records_of[winner.key]), tuple(alternatives),
    )


# -- reading candidates from records ----------------------------------------------------------
def _name_forms(record: Record) -> dict[str, str]:
    """full_name, first_name and last_name as the source wrote them, each derived from
    the others when the source has only one form ("Doe, Jane" reads as Jane Doe)."""
    attrs = record.attrs
    full, first, last = _text(attrs.get("full_name")), _text(attrs.get("first_name")), _text(attrs.get("last_name"))
    if full and "," in full:
        l, _, f = full.partition(",")
        full = f"{f.strip()} {l.strip()}".strip()
        if not (first or last):
            first, last = f.strip().split(" ")[0] if f.strip() else "", l.strip()
    if not full and (first or last):
        full = " ".join(p for p in (first, last) if p)
    elif full and not (first or last):
        parts = full.split(" ")
        first, last = (parts[0], parts[-1]) if len(parts) > 1 else ("", parts[0])
    return {"full_name": full, "first_name": first, "last_name": last}


def candidates_of(
    record: Record, name: str, rule: AttributeRule, names: dict[str, str] | None = None
) -> list[Candidate]:
    """The values one record offers for attribute `name` (none, one, or one per identifier).

    `names`: the record's `_name_forms`, when the caller already has them."""
    src, key, ts = record.source, record.key, record.updated_at
    if rule.identifier:
        wanted = set(rule.identifier_fields)
        values = sorted({i.value for i in record.identifiers
                         if i.kind == rule.identifier and (not wanted or i.field in wanted)})
        return [Candidate(v, v, src, key, ts) for v in values if v]
    for f in rule.fields or (name,):
        if f in ("full_name", "first_name", "last_name"):
            names = names or _name_forms(record)
            text = names[f]
        else:
            text = _text(record.attrs.get(f))
        if not text:
            continue
        norm = record.norm.get(f)
        shown = norm if rule.value == "normalized" and norm else text
        return [Candidate(shown, norm or _key(text), src, key, ts)]
    return []


def golden_record(
    entity_id: str, kind: str, records: Iterable[Record], config: Survivorship
) -> GoldenRecord:
    """The golden record of an entity made of `records` (a person's members, or every
    record of an account's persons), under the `kind` section of `config`."""
    recs = [(r, _name_forms(r)) for r in records]
    out = GoldenRecord(entity_id, kind, config.config_version)
    for name, rule in config.section(kind).items():
        cands = [c for r, names in recs for c in candidates_of(r, name, rule, names)]
        value = survive(cands, rule, config.order_of(rule))
        if value is not None:
            out.attributes[name] = value
    return out


def golden_records(
    members: Mapping[str, Sequence[str]], kinds: Mapping[str, str], records: Mapping[str, Record], config: Survivorship
) -> dict[str, GoldenRecord]:
    """Golden records of many entities at once: entity id -> member record keys."""
    return {
        eid: golden_record(eid, kinds[eid], (records[k] for k in keys if k in records), config)
        for eid, keys in members.items()
    }
