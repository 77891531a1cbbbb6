"""Per-request DataLoaders: every store read the schema makes goes through one of these.

Resolvers ask for one thing at a time (`loaders.entity.load(id)`); the loaders gather
everything asked for in the same tick and make one batched store call, which the
store's list-shaped methods were built for. That is what keeps `resolveMany` of 1,000
keys at a handful of store round trips instead of thousands. Loaders live for one
request only, so a client never sees another request's (possibly stale) cache.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from graphstore.golden import golden_of_ids
from graphstore.model import MATCH, NEAR_MISS, Entity, EntityEvent, Identifier, MatchEdge, Override, Record
from graphstore.store import GraphStore
from graphstore.survivorship import GoldenRecord

from .gateway import StoreGateway

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# An identifier can be carried by 100k records (gmail.com as a domain); listing its
# records is capped here. The identifier's `degree` still gives the true count.
MAX_LISTED_CARRIERS = 10_000


def _mapped(
    gateway: StoreGateway, fetch: Callable[[GraphStore, list[Any]], Mapping[Any, Any]], default: Any = None
) -> Callable[[list[Any]], Awaitable[list[Any]]]:
    """A DataLoader batch function over a store method that returns a mapping by key."""

    async def load(keys: list[Any]) -> list[Any]:
        found = await gateway.call(lambda store: fetch(store, keys))
        return [found.get(k, default) for k in keys]

    return load


class Loaders:
    """The DataLoaders of one request, built by the context getter."""

    def __init__(self, gateway: StoreGateway) -> None:
        self.gateway = gateway
        g = gateway
        loader = DataLoader
        self.record_known: DataLoader[str, bool] = loader(
            _mapped(g, lambda s, ks: {k: True for k in s.record_hashes(ks)}, False)
        )
        self.record: DataLoader[str, Record | None] = loader(_mapped(g, lambda s, ks: s.get_records(ks)))
        self.entity_of_record: DataLoader[str, str | None] = loader(
            _mapped(g, lambda s, ks: s.entity_of_records(ks))
        )
        self.entity: DataLoader[str, Entity | None] = loader(_mapped(g, lambda s, ks: s.get_entities(ks)))
        self.live_id: DataLoader[str, str | None] = loader(_mapped(g, lambda s, ks: s.resolve_ids(ks)))
        self.account_of: DataLoader[str, str | None] = loader(_mapped(g, lambda s, ks: s.accounts_of(ks)))
        self.persons_of: DataLoader[str, list[str]] = loader(_mapped(g, lambda s, ks: s.persons_of(ks), []))
        self.parent_of: DataLoader[str, str | None] = loader(_mapped(g, lambda s, ks: s.parents_of(ks)))
        self.children_of: DataLoader[str, list[str]] = loader(_mapped(g, lambda s, ks: s.children_of(ks), []))
        self.members: DataLoader[str, list[str]] = loader(_mapped(g, lambda s, ks: s.members_of(ks), []))
        self.aliases: DataLoader[str, list[str]] = loader(_mapped(g, lambda s, ks: s.aliases_of(ks), []))
        self.identifiers_of: DataLoader[str, list[Identifier]] = loader(
            _mapped(g, lambda s, ks: s.identifiers_of_records(ks), [])
        )
        self.identifier: DataLoader[str, Identifier | None] = loader(_mapped(g, lambda s, ks: s.get_identifiers(ks)))
        self.carriers: DataLoader[str, list[str]] = loader(
            _mapped(g, lambda s, ks: s.records_with_identifiers(ks, limit=MAX_LISTED_CARRIERS), [])
        )
        self.history: DataLoader[str, list[EntityEvent]] = loader(self._history)
        self.golden: DataLoader[str, GoldenRecord | None] = loader(
            _mapped(g, lambda s, ks: golden_of_ids(s, ks, g.survivorship))
        )
        self.evidence: DataLoader[str, list[MatchEdge]] = loader(self._edges(MATCH, internal=True))
        self.near_misses: DataLoader[str, list[MatchEdge]] = loader(self._edges(NEAR_MISS, internal=False))
        self.overrides: DataLoader[str, list[Override]] = loader(self._overrides)

    def all(self) -> Sequence[DataLoader[Any, Any]]:
        return [v for v in vars(self).values() if isinstance(v, DataLoader)]

    def clear_all(self) -> None:
        """Forget everything read so far: after a mutation re-resolved part of the graph."""
        for dl in self.all():
            dl.clear_all()

    # -- batch functions that combine several store calls -------------------------------
    async def _history(self, entity_ids: list[str]) -> list[list[EntityEvent]]:
        events = await self.gateway.call(lambda s: s.events(entity_ids=entity_ids))
        by_entity: dict[str, list[EntityEvent]] = defaultdict(list)
        for e in events:
            by_entity[e.entity_id].append(e)
        return [by_entity.get(eid, []) for eid in entity_ids]

    def _edges(self, decision: str, internal: bool) -> Callable[[list[str]], Awaitable[list[list[MatchEdge]]]]:
        """Entity id -> its match edges: both ends inside (evidence) or any end (near misses)."""

        async def load(entity_ids: list[str]) -> list[list[MatchEdge]]:
            members = await self.members.load_many(entity_ids)
            owner = {m: eid for eid, ms in zip(entity_ids, members) for m in ms}
            if not owner:
                return [[] for _ in entity_ids]
            edges = await self.gateway.call(lambda s: s.matches_for(list(owner), decision=decision))
            out: dict[str, list[MatchEdge]] = defaultdict(list)
            for e in edges:
                ea, eb = owner.get(e.a), owner.get(e.b)
                if internal:
                    if ea is not None and ea == eb:
                        out[ea].append(e)
                else:
                    for eid in {x for x in (ea, eb) if x is not None}:
                        out[eid].append(e)
            return [out.get(eid, []) for eid in entity_ids]

        return load

    async def _overrides(self, entity_ids: list[str]) -> list[list[Override]]:
        members = await self.members.load_many(entity_ids)
        owner = {m: eid for eid, ms in zip(entity_ids, members) for m in ms}
        if not owner:
            return [[] for _ in entity_ids]
        found = await self.gateway.call(lambda s: s.get_overrides(active_only=True, record_keys=list(owner)))
        out: dict[str, list[Override]] = defaultdict(list)
        for o in found:
            for eid in {owner[k] for k in (o.a, o.b) if k in owner}:
                out[eid].append(o)
        return [out.get(eid, []) for eid in entity_ids]
