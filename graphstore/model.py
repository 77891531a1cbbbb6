"""The shapes that cross the GraphStore seam.

Loaders, resolution and the API speak only in these dataclasses, so either backend
(embedded SQLite or Neo4j) can sit behind them. They mirror the graph model in
DESIGN.md: Record -HAS-> Identifier, Record -MATCHED-> Record, Record -MEMBER_OF->
Entity, Entity -BELONGS_TO-> Entity, Entity -CHILD_OF-> Entity.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal, NamedTuple

import orjson as _orjson

from . import jsontext

PERSON = "person"
ACCOUNT = "account"
EntityKind = Literal["person", "account"]

MATCH = "match"
NEAR_MISS = "near_miss"

LINK = "link"
CANNOT_LINK = "cannot_link"


def utcnow() -> str:
    """ISO-8601 UTC timestamp with microseconds: sortable as text in both stores."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def record_key(source: str, source_id: str) -> str:
    """The one way a record is addressed: `source:source_id` (source names hold no colon)."""
    if not source or ":" in source:
        raise ValueError(f"source name {source!r} must be non-empty and contain no ':'")
    return f"{source}:{source_id}"


def split_record_key(key: str) -> tuple[str, str]:
    source, sep, source_id = key.partition(":")
    if not sep or not source or not source_id:
        raise ValueError(f"record key {key!r} is not of the form SOURCE:ID")
    return source, source_id


def identifier_key(kind: str, value: str) -> str:
    return f"{kind}:{value}"


class IdentifierRef(NamedTuple):
    """A normalized identifier a record carries, and the source field it came from.

    Two records carrying the same (kind, value) point at one shared Identifier node;
    that node is the evidence that links them. A named tuple, not a frozen dataclass:
    loaders make about three per row, and `_make` builds one in a fifth of the time.
    """

    kind: str
    value: str
    field: str = ""

    @property
    def key(self) -> str:
        return identifier_key(self.kind, self.value)


@dataclass(slots=True)
class Record:
    """One source row, kept whole.

    `attrs` holds the mapped attribute values as the source wrote them (nothing is
    lost); `norm` holds the normalized values that comparisons use (names folded,
    postcode stripped...). `updated_at` is the source's own freshness timestamp,
    `loaded_at`/`batch_id` say when and by which load it arrived.
    """

    source: str
    source_id: str
    attrs: dict[str, Any] = field(default_factory=dict)
    norm: dict[str, str] = field(default_factory=dict)
    identifiers: list[IdentifierRef] = field(default_factory=list)
    updated_at: str | None = None
    loaded_at: str | None = None
    batch_id: str | None = None
    content_hash: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.content_hash:
            self.content_hash = self.compute_hash()

    @property
    def key(self) -> str:
        return record_key(self.source, self.source_id)

    def encoded(self) -> EncodedRecord:
        dumps = jsontext.dumps
        return EncodedRecord(
            self.key, self.source, self.source_id, dumps(self.attrs), dumps(self.norm),
            [(i.kind, i.value, i.field) for i in self.identifiers], self.updated_at, self.content_hash,
            self.loaded_at, self.batch_id, dumps(self.history) if self.history else "[]",
        )

    def compute_hash(self) -> str:
        """Hash of what the source said (not of when we loaded it), so reloads are no-ops."""
        return content_hash(
            self.source, self.source_id, self.attrs, self.norm,
            [(i.kind, i.value, i.field) for i in self.identifiers], self.updated_at,
        )


def content_hash(
    source: str, source_id: str, attrs: dict[str, Any], norm: dict[str, str],
    identifiers: list[tuple[str, str, str]], updated_at: str | None,
) -> str:
    """A record's content hash from its parts, so a loader can compare a row with what the
    store holds before building a Record. Sorted-key JSON through jsontext (orjson): the
    text costs ~1.5 µs against ~9.5 µs with the stdlib. Stores written before this hash
    (stdlib JSON text) see each record once as updated on its next reload."""
    return encoded_content_hash(source, source_id, jsontext.dumpb(attrs), jsontext.dumpb(norm), identifiers, updated_at)


def encoded_content_hash(
    source: str, source_id: str, attrs: bytes, norm: bytes, identifiers: list[tuple[str, str, str]],
    updated_at: str | None,
) -> str:
    """`content_hash` with attrs and norm given as their JSON text (jsontext.dumpb), which a
    loader keeps for the store: the hashed text is the JSON array of the six parts.

    The parts around attrs and norm are written as two arrays whose brackets are cut
    ('["src","id"' and '[[...],"2024-..."]'), two orjson calls instead of four: the same
    bytes, since an array's text is its items' texts joined by commas. What orjson
    refuses goes the item-by-item way, as before."""
    try:
        head = _orjson.dumps((source, source_id), option=_orjson.OPT_SORT_KEYS, default=str)
        tail = _orjson.dumps((sorted(identifiers), updated_at), option=_orjson.OPT_SORT_KEYS, default=str)
        payload = b"".join((head[:-1], b",", attrs, b",", norm, b",", tail[1:]))
    except TypeError:
        dumpb = jsontext.dumpb
        parts = b",".join((dumpb(source), dumpb(source_id), attrs, norm, dumpb(sorted(identifiers)), dumpb(updated_at)))
        payload = b"[" + parts + b"]"
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class EncodedRecord(NamedTuple):
    """A record on its way into a store, with attrs, norm and history as JSON text.

    Both stores keep those as JSON text (jsontext.dumps), so a loader's worker processes
    encode them once, hash that same text, and the loading process hands them to the
    store without building dicts or a Record: decoding and re-encoding them was a fifth
    of the loading process's time. `Record.encoded()` and `decoded()` convert.
    """

    key: str
    source: str
    source_id: str
    attrs: str
    norm: str
    identifiers: list[tuple[str, str, str]]  # (kind, value, field)
    updated_at: str | None
    content_hash: str
    loaded_at: str | None = None
    batch_id: str | None = None
    history: str = "[]"

    def decoded(self) -> Record:
        return Record(
            source=self.source, source_id=self.source_id, attrs=jsontext.loads(self.attrs),
            norm=jsontext.loads(self.norm), identifiers=list(map(IdentifierRef._make, self.identifiers)),
            updated_at=self.updated_at, loaded_at=self.loaded_at, batch_id=self.batch_id,
            content_hash=self.content_hash, history=jsontext.loads(self.history),
        )


@dataclass(frozen=True, slots=True)
class Identifier:
    """A shared identifier node with its degree: how many records carry it."""

    kind: str
    value: str
    degree: int

    @property
    def key(self) -> str:
        return identifier_key(self.kind, self.value)


@dataclass(slots=True)
class UpsertResult:
    """What a batch upsert did to each record key; the loader's summary adds these up."""

    inserted: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    """One reason two records are (or are not) the same customer.

    For exact evidence `value` is the shared identifier value; for fuzzy evidence
    `left`/`right` are the two compared values and `similarity` their score. `note`
    carries why an item did not count (a guarded hub, a missing corroboration).
    """

    kind: str
    weight: float
    value: str | None = None
    left: str | None = None
    right: str | None = None
    similarity: float | None = None
    counted: bool = True
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The item without its empty fields. Spelled out rather than a loop over __slots__:
        a full run stores evidence for about a million edges, and the generic form cost
        about 8 s of a 1M-record run's profile."""
        d: dict[str, Any] = {"kind": self.kind, "weight": self.weight}
        if self.value is not None:
            d["value"] = self.value
        if self.left is not None:
            d["left"] = self.left
        if self.right is not None:
            d["right"] = self.right
        if self.similarity is not None:
            d["similarity"] = self.similarity
        d["counted"] = self.counted
        if self.note is not None:
            d["note"] = self.note
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceItem:
        return cls(**{k: data[k] for k in cls.__slots__ if k in data})


@dataclass(slots=True)
class MatchEdge:
    """A scored pair decision between two records (a < b), with the rule version that made it."""

    a: str
    b: str
    score: float
    rule_version: str
    evidence: list[EvidenceItem] = field(default_factory=list)
    decision: str = MATCH
    run_id: str | None = None

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise ValueError(f"a match edge needs two different records, got {self.a!r} twice")
        if self.a > self.b:
            self.a, self.b = self.b, self.a

    @property
    def pair(self) -> tuple[str, str]:
        return (self.a, self.b)


@dataclass(slots=True)
class Entity:
    """A resolved customer: a person, or an account (company) that persons belong to."""

    id: str
    kind: str
    attrs: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None


@dataclass(slots=True)
class EntityEvent:
    """One line of an entity's append-only history. `seq` is assigned by the store."""

    entity_id: str
    type: str
    at: str = field(default_factory=utcnow)
    run_id: str | None = None
    rule_version: str | None = None
    cause: str | None = None
    actor: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    seq: int | None = None


@dataclass(slots=True)
class Override:
    """A steward's decision that resolution must never violate: link or cannot-link two records."""

    id: str
    kind: str
    a: str
    b: str
    actor: str
    reason: str
    created_at: str = field(default_factory=utcnow)
    removed_at: str | None = None
    removed_by: str | None = None
    removed_reason: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (LINK, CANNOT_LINK):
            raise ValueError(f"override kind must be {LINK!r} or {CANNOT_LINK!r}, got {self.kind!r}")
        if self.a > self.b:
            self.a, self.b = self.b, self.a

    @property
    def active(self) -> bool:
        return self.removed_at is None


@dataclass(slots=True)
class QuarantineRow:
    """A row that could not be loaded, kept with where it came from and why."""

    source: str
    file: str
    line: int
    raw: str
    reason: str
    batch_id: str | None = None
    at: str = field(default_factory=utcnow)
    id: int | None = None


@dataclass(slots=True)
class Run:
    """One load or resolution run: what rule version it used and what it did."""

    id: str
    kind: str
    started_at: str
    finished_at: str | None = None
    rule_version: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ApiKey:
    """An API client's credential as the store keeps it: never the key, only its hash.

    The key itself is shown once when created; `hint` (its last characters) lets an
    admin tell keys apart in a listing. A revoked key stays on record (who had access,
    until when) but no longer authenticates.
    """

    id: str
    name: str
    role: str
    key_hash: str
    created_at: str = field(default_factory=utcnow)
    revoked_at: str | None = None
    hint: str = ""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(slots=True)
class RegionStep:
    """What one step of growing a closed region reads about its frontier records (see
    `GraphStore.region_step`): their entities, every member of those entities, their
    accepted match edges and the active overrides that name them."""

    entity_of: dict[str, str]
    members: dict[str, list[str]]
    matches: list[MatchEdge]
    overrides: list[Override]


@dataclass(frozen=True, slots=True)
class StoreInfo:
    backend: str
    uri: str
    version: str
