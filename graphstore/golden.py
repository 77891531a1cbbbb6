"""Golden records of stored entities: the store-facing side of survivorship.

Golden records are computed when read, from the entity's current member records, not
stored on the entity. A golden record is a pure function of (member records,
survivorship config), so computing it on read means it can never be stale: not after a
run that rewrote an entity's display attributes, not after a steward override moved a
record, not after the survivorship config changed. It costs two batched store calls for
persons (members, records) and three for accounts (persons, members, records); the API
batches them per request through a DataLoader and the export per page of entities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from .model import ACCOUNT, PERSON, Entity, Record
from .store import GraphStore
from .survivorship import GoldenRecord, Survivorship, golden_record


def member_records_of(store: GraphStore, entities: Sequence[Entity]) -> dict[str, list[str]]:
    """Entity id -> the record keys its golden record draws on: a person's members, or
    every member of every person belonging to an account."""
    persons = [e.id for e in entities if e.kind != ACCOUNT]
    accounts = [e.id for e in entities if e.kind == ACCOUNT]
    out: dict[str, list[str]] = {}
    if persons:
        out.update(store.members_of(persons))
    if accounts:
        persons_of = store.persons_of(accounts)
        their = store.members_of({p for ps in persons_of.values() for p in ps})
        for aid in accounts:
            out[aid] = sorted(k for p in persons_of.get(aid, ()) for k in their.get(p, ()))
    return out


def golden_with_members(
    store: GraphStore, entities: Iterable[Entity], config: Survivorship
) -> tuple[dict[str, GoldenRecord], dict[str, list[str]]]:
    """Golden records of `entities` (one batch: a page, a request) and the record keys
    each drew on, keyed by entity id."""
    ents = list(entities)
    members = member_records_of(store, ents)
    records: Mapping[str, Record] = store.get_records({k for ks in members.values() for k in ks})
    golden = {
        e.id: golden_record(e.id, ACCOUNT if e.kind == ACCOUNT else PERSON,
                            (records[k] for k in members.get(e.id, ()) if k in records), config)
        for e in ents
    }
    return golden, members


def golden_for(store: GraphStore, entities: Iterable[Entity], config: Survivorship) -> dict[str, GoldenRecord]:
    """Golden records of `entities`, keyed by entity id."""
    return golden_with_members(store, entities, config)[0]


def golden_of_ids(store: GraphStore, ids: Iterable[str], config: Survivorship) -> dict[str, GoldenRecord]:
    """Golden records by live entity id; unknown ids are absent (aliases are not followed)."""
    return golden_for(store, store.get_entities(list(ids)).values(), config)
