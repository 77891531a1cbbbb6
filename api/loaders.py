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
from functools import cached_property
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

    # Each loader is built on first use: a `resolve` touches three of them, and building
    # all of them for every request was a tenth of the server's CPU time per `resolve`.
    def __init__(self, gateway: StoreGateway) -> None:
        self.gateway = gateway

    def _by_key(
        self, fetch: Callable[[GraphStore, list[Any]], Mapping[Any, Any]], default: Any = None
    ) -> DataLoader[Any, Any]:
        return DataLoader(_mapped(self.gateway, fetch, default))

    @cached_property
    def record_known(self) -> DataLoader[str, bool]:
        return self._by_key(lambda s, ks: {k: True for k in s.record_hashes(ks)}, False)

    @cached_property
    def record(self) -> DataLoader[str, Record | None]:
        return self._by_key(lambda s, ks: s.get_records(ks))

    @cached_property
    def entity_of_record(self) -> DataLoader[str, str | None]:
        return self._by_key(lambda s, ks: s.entity_of_records(ks))

    @cached_property
    def entity(self) -> DataLoader[str, Entity | None]:
        return self._by_key(lambda s, ks: s.get_entities(ks))

    @cached_property
    def live_id(self) -> DataLoader[str, str | None]:
        return self._by_key(lambda s, ks: s.resolve_ids(ks))

    @cached_property
    def account_of(self) -> DataLoader[str, str | None]:
        return self._by_key(lambda s, ks: s.accounts_of(ks))

    @cached_property
    def persons_of(self) -> DataLoader[str, list[str]]:
        return self._by_key(lambda s, ks: s.persons_of(ks), [])

    @cached_property
    def parent_of(self) -> DataLoader[str, str | None]:
        return self._by_key(lambda s, ks: s.parents_of(ks))

    @cached_property
    def children_of(self) -> DataLoader[str, list[str]]:
        return self._by_key(lambda s, ks: s.children_of(ks), [])

    @cached_property
    def members(self) -> DataLoader[str, list[str]]:
        return self._by_key(lambda s, ks: s.members_of(ks), [])

    @cached_property
    def aliases(self) -> DataLoader[str, list[str]]:
        return self._by_key(lambda s, ks: s.aliases_of(ks), [])

    @cached_property
    def identifiers_of(self) -> DataLoader[str, list[Identifier]]:
        return self._by_key(lambda s, ks: s.identifiers_of_records(ks), [])

    @cached_property
    def identifier(self) -> DataLoader[str, Identifier | None]:
        return self._by_key(lambda s, ks: s.get_identifiers(ks))

    @cached_property
    def carriers(self) -> DataLoader[str, list[str]]:
        return self._by_key(lambda s, ks: s.records_with_identifiers(ks, limit=MAX_LISTED_CARRIERS), [])

    @cached_property
    def golden(self) -> DataLoader[str, GoldenRecord | None]:
        survivorship = self.gateway.survivorship
        return self._by_key(lambda s, ks: golden_of_ids(s, ks, survivorship))

    @cached_property
    def history(self) -> DataLoader[str, list[EntityEvent]]:
        return DataLoader(self._history)

    @cached_property
    def evidence(self) -> DataLoader[str, list[MatchEdge]]:
        return DataLoader(self._edges(MATCH, internal=True))

    @cached_property
    def near_misses(self) -> DataLoader[str, list[MatchEdge]]:
        return DataLoader(self._edges(NEAR_MISS, internal=False))

    @cached_property
    def overrides(self) -> DataLoader[str, list[Override]]:
        return DataLoader(self._overrides)

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
