"""GraphQL object types: shapes over graphstore's model, loaded lazily through DataLoaders.

A node is created with just its key (`EntityNode(id=...)`, `RecordNode(key=...)`);
each field loads what it needs when a query asks for it, so `{ resolve { person { id } } }`
costs one membership lookup and never reads the entity row, and a thousand nodes asking
for the same thing share one batched store call.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from graphstore.explain import Explanation
from graphstore.model import (
    ACCOUNT,
    PERSON,
    ApiKey,
    Entity,
    EntityEvent,
    EvidenceItem,
    Identifier,
    MatchEdge,
    Override,
    Record,
    split_record_key,
)

from .context import ctx
from .errors import not_found
from .golden_types import GoldenRecordNode
from .pagination import Page


@strawberry.enum(description="What an entity is: a person, or an account (company) persons belong to.")
class EntityKind(Enum):
    PERSON = PERSON
    ACCOUNT = ACCOUNT


@strawberry.enum(description="A steward override: keep two records together, or apart.")
class OverrideKind(Enum):
    LINK = "link"
    CANNOT_LINK = "cannot_link"


@strawberry.enum(description="API roles, from least to most access.")
class Role(Enum):
    APP = "app"
    STEWARD = "steward"
    AUDITOR = "auditor"
    ADMIN = "admin"


@strawberry.input(description="A source record's address: the source system and its own id for the row.")
class RecordKeyInput:
    source: str
    source_id: str


# -- evidence -----------------------------------------------------------------------------
@strawberry.type(name="EvidenceItem", description="One reason two records are (or are not) the same customer.")
class EvidenceItemNode:
    kind: str = strawberry.field(description="email, phone, device_id, ... or a comparison such as name")
    weight: float
    value: str | None = strawberry.field(description="The shared identifier value, for exact evidence.")
    left: str | None = strawberry.field(description="The two compared values, for fuzzy evidence.")
    right: str | None
    similarity: float | None
    counted: bool = strawberry.field(description="False when the item did not count (a hub, no corroboration).")
    note: str | None = strawberry.field(description="Why an item did not count.")

    @classmethod
    def of(cls, item: EvidenceItem) -> EvidenceItemNode:
        return cls(
            kind=item.kind, weight=item.weight, value=item.value, left=item.left, right=item.right,
            similarity=item.similarity, counted=item.counted, note=item.note,
        )


@strawberry.type(name="Match", description="A scored decision between two records, with the rule version behind it.")
class MatchNode:
    a_key: str
    b_key: str
    score: float
    rule_version: str
    decision: str = strawberry.field(description="match, near_miss, or override (a steward must-link)")
    run_id: str | None
    evidence: list[EvidenceItemNode]

    @strawberry.field
    def a(self) -> RecordNode:
        return RecordNode(key=self.a_key)

    @strawberry.field
    def b(self) -> RecordNode:
        return RecordNode(key=self.b_key)

    @classmethod
    def of(cls, e: MatchEdge) -> MatchNode:
        return cls(
            a_key=e.a, b_key=e.b, score=e.score, rule_version=e.rule_version, decision=e.decision,
            run_id=e.run_id, evidence=[EvidenceItemNode.of(i) for i in e.evidence],
        )


# -- history and overrides -----------------------------------------------------------------
@strawberry.type(name="Event", description="One line of an entity's append-only history.")
class EventNode:
    seq: int
    entity_id: str
    type: str = strawberry.field(
        description="created, merged, merged_into, split, cut, record_added, record_moved, override_added, override_removed"
    )
    at: str
    actor: str | None
    reason: str | None = strawberry.field(description="The cause: a steward's reason, or what triggered the run.")
    rule_version: str | None
    run_id: str | None
    details: JSON

    @classmethod
    def of(cls, e: EntityEvent) -> EventNode:
        return cls(
            seq=e.seq or 0, entity_id=e.entity_id, type=e.type, at=e.at, actor=e.actor, reason=e.cause,
            rule_version=e.rule_version, run_id=e.run_id, details=e.details,
        )


@strawberry.type(name="Override", description="A steward's decision that resolution never violates.")
class OverrideNode:
    id: strawberry.ID
    kind: OverrideKind
    a_key: str
    b_key: str
    actor: str
    reason: str
    created_at: str
    removed_at: str | None
    removed_by: str | None
    removed_reason: str | None

    @strawberry.field
    def active(self) -> bool:
        return self.removed_at is None

    @strawberry.field
    def a(self) -> RecordNode:
        return RecordNode(key=self.a_key)

    @strawberry.field
    def b(self) -> RecordNode:
        return RecordNode(key=self.b_key)

    @classmethod
    def of(cls, o: Override) -> OverrideNode:
        return cls(
            id=strawberry.ID(o.id), kind=OverrideKind(o.kind), a_key=o.a, b_key=o.b, actor=o.actor, reason=o.reason,
            created_at=o.created_at, removed_at=o.removed_at, removed_by=o.removed_by, removed_reason=o.removed_reason,
        )


# -- identifiers and records -------------------------------------------------------------
def _hub_reason(info: strawberry.Info, kind: str, value: str, degree: int) -> str | None:
    """The rules' single definition of a hub, asked for one identifier."""
    rules = ctx(info).rules
    return rules.guard(kind, value, degree) if rules.is_hub(kind, value, degree) else None


@strawberry.type(name="RecordIdentifier", description="An identifier as one record carries it, and from which field.")
class RecordIdentifierNode:
    kind: str
    value: str
    field: str
    degree: int
    hub: bool

    @strawberry.field
    def identifier(self) -> IdentifierNode:
        return IdentifierNode(kind=self.kind, value=self.value, degree=self.degree)


@strawberry.type(name="Record", description="One source row, kept whole.")
class RecordNode:
    key: str
    _model: strawberry.Private[Record | None] = None

    async def model(self, info: strawberry.Info) -> Record:
        if self._model is None:
            found = await ctx(info).loaders.record.load(self.key)
            if found is None:
                raise not_found(f"record {self.key} does not exist")
            self._model = found
        return self._model

    @strawberry.field
    def source(self) -> str:
        return split_record_key(self.key)[0]

    @strawberry.field
    def source_id(self) -> str:
        return split_record_key(self.key)[1]

    @strawberry.field(description="Attributes as the source wrote them.")
    async def attributes(self, info: strawberry.Info) -> JSON:
        return (await self.model(info)).attrs

    @strawberry.field(description="Normalized values the matcher compares.")
    async def normalized(self, info: strawberry.Info) -> JSON:
        return (await self.model(info)).norm

    @strawberry.field
    async def updated_at(self, info: strawberry.Info) -> str | None:
        return (await self.model(info)).updated_at

    @strawberry.field
    async def loaded_at(self, info: strawberry.Info) -> str | None:
        return (await self.model(info)).loaded_at

    @strawberry.field
    async def batch_id(self, info: strawberry.Info) -> str | None:
        return (await self.model(info)).batch_id

    @strawberry.field
    async def identifiers(self, info: strawberry.Info) -> list[RecordIdentifierNode]:
        c = ctx(info)
        record = await self.model(info)
        degrees = {i.key: i.degree for i in await c.loaders.identifiers_of.load(self.key)}
        rules = c.rules
        out = []
        for ref in record.identifiers:
            degree = degrees.get(ref.key, 1)
            out.append(
                RecordIdentifierNode(
                    kind=ref.kind, value=ref.value, field=ref.field, degree=degree,
                    hub=rules.is_hub(ref.kind, ref.value, degree),
                )
            )
        return out

    @strawberry.field(description="The person entity this record is a member of (null until resolved).")
    async def entity(self, info: strawberry.Info) -> EntityNode | None:
        eid = await ctx(info).loaders.entity_of_record.load(self.key)
        return EntityNode(id=strawberry.ID(eid)) if eid else None


@strawberry.type(name="Identifier", description="A shared identifier node: the evidence that links records.")
class IdentifierNode:
    kind: str
    value: str
    degree: int = strawberry.field(description="How many records carry it.")

    @strawberry.field
    def key(self) -> str:
        return f"{self.kind}:{self.value}"

    @strawberry.field(description="True when the rules never use it to merge (shared too widely, or a denied value).")
    def hub(self, info: strawberry.Info) -> bool:
        return ctx(info).rules.is_hub(self.kind, self.value, self.degree)

    @strawberry.field(description="Why it is a hub, when it is one.")
    def hub_reason(self, info: strawberry.Info) -> str | None:
        return _hub_reason(info, self.kind, self.value, self.degree)

    @relay.connection(Page[RecordNode], description="The records sharing it (the first 10,000 by key).")
    async def records(self, info: strawberry.Info) -> Iterable[RecordNode]:
        keys = await ctx(info).loaders.carriers.load(f"{self.kind}:{self.value}")
        return [RecordNode(key=k) for k in keys]

    @classmethod
    def of(cls, i: Identifier) -> IdentifierNode:
        return cls(kind=i.kind, value=i.value, degree=i.degree)


# -- entities --------------------------------------------------------------------------------
@strawberry.type(name="Entity", description="A resolved customer: a person, or an account persons belong to.")
class EntityNode:
    id: strawberry.ID
    _model: strawberry.Private[Entity | None] = None

    async def model(self, info: strawberry.Info) -> Entity:
        if self._model is None:
            found = await ctx(info).loaders.entity.load(str(self.id))
            if found is None:
                raise not_found(f"entity {self.id} does not exist (any more)")
            self._model = found
        return self._model

    @strawberry.field
    async def kind(self, info: strawberry.Info) -> EntityKind:
        return EntityKind((await self.model(info)).kind)

    @strawberry.field(description="A name to show (golden attributes arrive later): a person's most common name, an account's name or first domain.")
    async def display_name(self, info: strawberry.Info) -> str | None:
        attrs = (await self.model(info)).attrs
        name = attrs.get("name") or next(iter(attrs.get("domains") or ()), None)
        return str(name) if name is not None else None

    @strawberry.field(description="Display attributes: name, record count, sources.")
    async def attributes(self, info: strawberry.Info) -> JSON:
        return (await self.model(info)).attrs

    @strawberry.field
    async def created_at(self, info: strawberry.Info) -> str | None:
        return (await self.model(info)).created_at

    @strawberry.field
    async def updated_at(self, info: strawberry.Info) -> str | None:
        return (await self.model(info)).updated_at

    @relay.connection(Page[RecordNode], description="Member records (persons; accounts have none of their own).")
    async def members(self, info: strawberry.Info) -> Iterable[RecordNode]:
        keys = await ctx(info).loaders.members.load(str(self.id))
        return [RecordNode(key=k) for k in keys]

    @strawberry.field(description="How many member records.")
    async def member_count(self, info: strawberry.Info) -> int:
        return len(await ctx(info).loaders.members.load(str(self.id)))

    @relay.connection(Page[MatchNode], description="Accepted match edges between members: what holds it together.")
    async def evidence(self, info: strawberry.Info) -> Iterable[MatchNode]:
        return [MatchNode.of(e) for e in await ctx(info).loaders.evidence.load(str(self.id))]

    @relay.connection(Page[MatchNode], description="Pairs touching its members that scored just below the threshold.")
    async def near_misses(self, info: strawberry.Info) -> Iterable[MatchNode]:
        return [MatchNode.of(e) for e in await ctx(info).loaders.near_misses.load(str(self.id))]

    @strawberry.field(description="The account this person belongs to.")
    async def account(self, info: strawberry.Info) -> EntityNode | None:
        aid = await ctx(info).loaders.account_of.load(str(self.id))
        return EntityNode(id=strawberry.ID(aid)) if aid else None

    @strawberry.field(description="For an account: the persons belonging to it.")
    async def persons(self, info: strawberry.Info) -> list[EntityNode]:
        return [EntityNode(id=strawberry.ID(p)) for p in await ctx(info).loaders.persons_of.load(str(self.id))]

    @strawberry.field(description="For an account: its parent account.")
    async def parent(self, info: strawberry.Info) -> EntityNode | None:
        pid = await ctx(info).loaders.parent_of.load(str(self.id))
        return EntityNode(id=strawberry.ID(pid)) if pid else None

    @strawberry.field(description="For an account: its child accounts.")
    async def children(self, info: strawberry.Info) -> list[EntityNode]:
        return [EntityNode(id=strawberry.ID(c)) for c in await ctx(info).loaders.children_of.load(str(self.id))]

    @relay.connection(Page[EventNode], description="Its history, oldest first.")
    async def history(self, info: strawberry.Info) -> Iterable[EventNode]:
        return [EventNode.of(e) for e in await ctx(info).loaders.history.load(str(self.id))]

    @strawberry.field(description="Ids merged into this one; they still resolve here.")
    async def aliases(self, info: strawberry.Info) -> list[str]:
        return await ctx(info).loaders.aliases.load(str(self.id))

    @strawberry.field(description="Golden record: each attribute's surviving value, its provenance and the values it beat.")
    async def golden(self, info: strawberry.Info) -> GoldenRecordNode | None:
        found = await ctx(info).loaders.golden.load(str(self.id))
        return GoldenRecordNode(model=found) if found is not None else None

    @strawberry.field(description="Active steward overrides touching its members.")
    async def overrides(self, info: strawberry.Info) -> list[OverrideNode]:
        return [OverrideNode.of(o) for o in await ctx(info).loaders.overrides.load(str(self.id))]


# -- query results --------------------------------------------------------------------------
@strawberry.type(name="Resolution", description="Which customer a source record is.")
class ResolutionNode:
    source: str
    source_id: str
    _entity_id: strawberry.Private[str | None] = None

    @strawberry.field
    def key(self) -> str:
        return f"{self.source}:{self.source_id}"

    @strawberry.field(description="False while the record is loaded but not resolved yet.")
    def resolved(self) -> bool:
        return self._entity_id is not None

    @strawberry.field(description="The person entity holding the record.")
    def person(self) -> EntityNode | None:
        return EntityNode(id=strawberry.ID(self._entity_id)) if self._entity_id else None

    @strawberry.field(description="The account that person belongs to.")
    async def account(self, info: strawberry.Info) -> EntityNode | None:
        if self._entity_id is None:
            return None
        aid = await ctx(info).loaders.account_of.load(self._entity_id)
        return EntityNode(id=strawberry.ID(aid)) if aid else None

    @strawberry.field
    def record(self) -> RecordNode:
        return RecordNode(key=f"{self.source}:{self.source_id}")


@strawberry.type(name="SearchHit", description="An entity (or a not yet resolved record) that matched a search.")
class SearchHitNode:
    matched_on: list[str] = strawberry.field(description="What matched: email, domain, phone, name, source_id, ...")
    record_keys: list[str]
    entity_id: strawberry.Private[str | None] = None

    @strawberry.field
    def entity(self) -> EntityNode | None:
        return EntityNode(id=strawberry.ID(self.entity_id)) if self.entity_id else None

    @strawberry.field(description="The matching records.")
    def records(self) -> list[RecordNode]:
        return [RecordNode(key=k) for k in self.record_keys]


@strawberry.type(name="Explanation", description="Why two records are one customer, or why not.")
class ExplanationNode:
    a_key: str
    b_key: str
    same_entity: bool
    entity_a_id: strawberry.Private[str | None]
    entity_b_id: strawberry.Private[str | None]
    path: list[MatchNode] = strawberry.field(description="The evidence path between them, when in one entity.")
    score: float | None = strawberry.field(description="Their direct pair score under the current rules.")
    threshold: float
    rule_version: str
    evidence: list[EvidenceItemNode] = strawberry.field(description="Evidence that counts for the direct pair.")
    ignored: list[EvidenceItemNode] = strawberry.field(description="Evidence that did not count (hubs...), with notes.")
    override: OverrideNode | None = strawberry.field(description="A cannot-link keeping them apart.")
    verdict: str = strawberry.field(description="One sentence for humans.")

    @strawberry.field
    def entity_a(self) -> EntityNode | None:
        return EntityNode(id=strawberry.ID(self.entity_a_id)) if self.entity_a_id else None

    @strawberry.field
    def entity_b(self) -> EntityNode | None:
        return EntityNode(id=strawberry.ID(self.entity_b_id)) if self.entity_b_id else None

    @classmethod
    def of(cls, ex: Explanation) -> ExplanationNode:
        return cls(
            a_key=ex.a, b_key=ex.b, same_entity=ex.same_entity, entity_a_id=ex.entity_ids[0],
            entity_b_id=ex.entity_ids[1], path=[MatchNode.of(e) for e in ex.path], score=ex.score,
            threshold=ex.threshold, rule_version=ex.rule_version,
            evidence=[EvidenceItemNode.of(i) for i in ex.evidence],
            ignored=[EvidenceItemNode.of(i) for i in ex.ignored],
            override=OverrideNode.of(ex.override) if ex.override else None, verdict=ex.verdict,
        )


@strawberry.type(name="OverrideResult", description="The override made or removed, and the entities now holding its records.")
class OverrideResultNode:
    override: OverrideNode
    entity_ids: strawberry.Private[list[str]]

    @strawberry.field
    def entities(self) -> list[EntityNode]:
        return [EntityNode(id=strawberry.ID(e)) for e in dict.fromkeys(self.entity_ids)]


@strawberry.type(name="ApiKey", description="An API key's record; the key itself is never shown again.")
class ApiKeyNode:
    id: strawberry.ID
    name: str
    role: Role
    hint: str = strawberry.field(description="The key's last characters, to tell keys apart.")
    created_at: str
    revoked_at: str | None

    @strawberry.field
    def active(self) -> bool:
        return self.revoked_at is None

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyNode:
        return cls(
            id=strawberry.ID(k.id), name=k.name, role=Role(k.role), hint=k.hint, created_at=k.created_at,
            revoked_at=k.revoked_at,
        )


@strawberry.type(name="CreatedApiKey")
class CreatedApiKeyNode:
    key: str = strawberry.field(description="The key: shown this once, store it now.")
    api_key: ApiKeyNode


@strawberry.type(name="Viewer", description="Who the API thinks you are.")
class ViewerNode:
    name: str
    role: Role
    key_id: str
    dev: bool

