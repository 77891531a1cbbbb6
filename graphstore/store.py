"""The one seam between logic and storage.

Loaders, resolution and the API call only these methods; the embedded SQLite store
and the Neo4j store implement them and pass the same contract suite
(`tests/test_store_contract.py`). Every method is batch-shaped (takes and returns
collections) because the callers work in batches: a loader writes thousands of rows
at once, and the API's DataLoaders turn a thousand lookups into one call.

Errors: a store that cannot be reached or is misconfigured raises `StoreUnavailable`
(naming the URI and the cause); callers turn that into a one-line message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, nullcontext
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .model import (
    ApiKey,
    EncodedRecord,
    Entity,
    EntityEvent,
    Identifier,
    MatchEdge,
    Override,
    QuarantineRow,
    MATCH,
    Record,
    RegionStep,
    Run,
    StoreInfo,
    UpsertResult,
    utcnow,
)


class StoreError(Exception):
    """Base class for store failures that a user should see as one line."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or refuses us (down, wrong URI, wrong password)."""

    def __init__(self, uri: str, cause: str) -> None:
        self.uri = uri
        self.cause = cause
        super().__init__(f"cannot use store {uri}: {cause}")


class StoreUriError(StoreError, ValueError):
    """The store URI itself is not one we understand."""


T = TypeVar("T")


class GraphStore(ABC):
    """Records, shared identifiers, scored matches, entities and their history.

    Guarantees every implementation keeps (the contract suite checks each):
    - upserts are idempotent: writing the same batch twice changes nothing;
    - a record's identifiers are replaced as a whole on update, and an identifier
      node exists exactly while at least one record carries it;
    - match edges are keyed by the unordered pair, so (a, b) and (b, a) are one edge;
    - entity ids are unique; aliases resolve to the current id transitively;
    - the event log and the quarantine are append-only; overrides are never deleted,
      only marked removed.
    """

    # How many writes (upserts of different records) a loader may have in flight at once, from
    # threads of its own: 1 where writers take turns anyway (SQLite's one write lock); more
    # where a write's work can overlap another's commit (a Neo4j server).
    concurrent_writes: int = 1

    # -- lifecycle -----------------------------------------------------------------
    @abstractmethod
    def info(self) -> StoreInfo:
        """Backend name, the URI it was opened with (no secrets) and the server/library version."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def counts(self) -> dict[str, int]:
        """Node counts by label and edge counts by type, for `entitystore status`.

        Keys: records, identifiers, entities, persons, accounts, has, matched,
        near_misses, member_of, belongs_to, child_of, aliases, events, overrides,
        quarantined.
        """

    def entity_counts(self) -> dict[str, int]:
        """Just `persons` and `accounts` from `counts()`: what every resolution run reports,
        so backends where the full counts are slow override it."""
        c = self.counts()
        return {"persons": c["persons"], "accounts": c["accounts"]}

    @abstractmethod
    def wipe(self) -> None:
        """Delete everything this store holds. Tests and the demo use it; nothing else should."""

    def in_one_transaction(self, work: Callable[[], T]) -> T:
        """Call `work()`, whose store calls (on this thread) a backend may run in one
        transaction: a small incremental resolution is dozens of small reads and writes, and
        a networked backend pays a round trip and a commit for each when they run apart.

        `work` must be repeatable: a backend may roll it back and call it again from the
        start on a transient error (a deadlock). An exception from `work` that is not the
        store's is re-raised after what was written before it is committed, as it would be
        with one transaction per call. This default simply calls `work()`.
        """
        return work()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- records and identifiers -----------------------------------------------------
    def upsert_records(self, records: Sequence[Record]) -> UpsertResult:
        """Insert new records, update changed ones in place, leave identical ones alone.

        A record whose content hash is unchanged is `unchanged` and not touched (its
        loaded_at and batch_id stay). An updated record keeps its previous content hash
        and load time appended to `history`, and its identifier links are replaced.
        The whole batch is one transaction: after a crash it is all there or not at all.
        The given records get their load time (when they had none) and, if updated, their
        new history.
        """
        if not records:
            return UpsertResult()
        batch = {r.key: r for r in records}  # last one wins inside a batch
        now = utcnow()
        for rec in batch.values():
            rec.loaded_at = rec.loaded_at or now
        result, histories = self._upsert([r.encoded() for r in batch.values()])
        for key, history in histories.items():
            batch[key].history = history
        return result

    def upsert_encoded(self, records: Sequence[EncodedRecord]) -> UpsertResult:
        """`upsert_records` for records whose attrs, norm and history are JSON text already
        (what the loaders produce): both stores keep that text as it is."""
        return self._upsert(records)[0] if records else UpsertResult()

    @abstractmethod
    def _upsert(self, records: Sequence[EncodedRecord]) -> tuple[UpsertResult, dict[str, list[Any]]]:
        """The one write path of both upserts: the result, and the new history of each
        updated record. A record without a load time is stamped with the time of the call."""

    def bulk_load(self) -> AbstractContextManager[None]:
        """Brackets a load of many records (the loaders wrap every file and folder in it).

        A store may prepare for a bulk write here, such as deferring index and identifier
        upkeep to the end: until the block ends, readers may see records without their
        identifiers, and reads may be slower. If the process dies inside it, the store
        still opens and works, with everything written so far. Blocks may nest. The
        default does nothing.
        """
        return nullcontext()

    def bulk_resolve(self) -> AbstractContextManager[None]:
        """Brackets the writes of a full resolution run (the resolver wraps every full run in it).

        The first full run into a store writes a membership for every record and an entity,
        an account link and events for every person, spread over many transactions; their
        keys (entity ids) are random, so each transaction's rows land all over the B-trees
        that index them. A store may defer the upkeep of such indexes, on tables that hold
        nothing when the block starts, to the block's end. Until then reads may be slower,
        never different. If the process dies inside it, the store still opens and works,
        with everything written so far. Blocks may nest. The default does nothing.
        """
        return nullcontext()

    @abstractmethod
    def get_records(self, keys: Iterable[str]) -> dict[str, Record]:
        """Records by key, with their identifiers; unknown keys are simply absent."""

    def get_record(self, key: str) -> Record | None:
        return self.get_records([key]).get(key)

    @abstractmethod
    def record_hashes(self, keys: Iterable[str]) -> dict[str, str]:
        """Content hash per known key: lets a loader tell unchanged rows cheaply."""

    @abstractmethod
    def iter_records(self, source: str | None = None, batch_size: int = 5000) -> Iterator[Record]:
        """Every record (of one source, or all), in key order, streamed in batches."""

    def iter_match_inputs(self, batch_size: int = 5000) -> Iterator[tuple[str, Mapping[str, Any], list[str]]]:
        """Every record as (key, normalized fields, identifier keys), in key order: all that
        matching reads. Backends override it to skip decoding original values, which a
        full resolution of a million records would otherwise spend a third of its time on."""
        for r in self.iter_records(batch_size=batch_size):
            yield r.key, r.norm, [i.key for i in r.identifiers]

    @abstractmethod
    def source_counts(self) -> dict[str, int]:
        """Number of records per source."""

    @abstractmethod
    def get_identifiers(self, keys: Iterable[str]) -> dict[str, Identifier]:
        """Identifier nodes by key (`kind:value`) with their current degree."""

    @abstractmethod
    def records_with_identifiers(
        self, keys: Iterable[str], limit: int | None = None
    ) -> dict[str, list[str]]:
        """For each identifier key, the keys of the records carrying it (sorted; at most
        `limit` each when given). Unknown identifiers map to an empty list."""

    @abstractmethod
    def identifiers_of_records(self, record_keys: Iterable[str]) -> dict[str, list[Identifier]]:
        """For each record key, its identifiers with degrees: what a resolver needs
        to find candidates and to skip hubs without another round trip."""

    def records_and_identifiers(
        self, keys: Iterable[str]
    ) -> tuple[dict[str, Record], dict[str, list[Identifier]]]:
        """`get_records(keys)` and `identifiers_of_records(keys)` together: what an incremental
        run reads first about the records it resolves. A networked backend may read both in
        one round trip; this default makes the two calls."""
        keys = list(keys)
        return self.get_records(keys), self.identifiers_of_records(keys)

    @abstractmethod
    def hub_identifiers(self, min_degree: int, limit: int = 1000) -> list[Identifier]:
        """Identifiers carried by at least `min_degree` records, most shared first."""

    @abstractmethod
    def records_loaded_since(self, since: str | None) -> list[str]:
        """Keys of records inserted or updated by writes after the watermark `since` (a value
        `load_watermark()` returned; all records when None), sorted: what an incremental
        resolution has not seen yet."""

    @abstractmethod
    def load_watermark(self) -> str:
        """An opaque mark of the newest committed record write. Every upsert that inserts or
        updates records numbers them from a counter whose lock is held until commit, so a
        write still in flight when this is read always lands after it: a run that reads the
        mark before reading records can never miss one, and needs no clock slack."""

    def run_start(
        self, rules_key: str, watermark_key: str, rule_version: str | None
    ) -> tuple[str, str | None, list[str] | None]:
        """What a resolution run reads first, in this order: the load watermark
        (`load_watermark`), the value stored under `rules_key`, and, when `rule_version` is
        given and equals that value, `records_loaded_since` the watermark stored under
        `watermark_key` (else None: a run with other rules is full and lists nothing). A
        networked backend may read it all in one round trip; this default makes the calls."""
        mark = self.load_watermark()
        stored = self.get_meta(rules_key)
        if rule_version is None or stored != rule_version:
            return mark, stored, None
        return mark, stored, self.records_loaded_since(self.get_meta(watermark_key))

    @abstractmethod
    def set_blocks(self, mapping: Mapping[str, Sequence[str]]) -> None:
        """Record key -> its blocking keys, replacing the record's previous ones.
        Blocking keys are how fuzzy comparisons find candidates incrementally."""

    def replace_all_blocks(self, members: Mapping[str, Iterable[str]], record_keys: Iterable[str]) -> None:
        """Block key -> member record keys, for every record (`record_keys` lists them all,
        blocked or not): what a full run computed, replacing every blocking key at once.
        A backend may bulk-load here; this default goes record by record."""
        blocks_of: dict[str, list[str]] = {k: [] for k in record_keys}
        for block, keys in members.items():
            for k in keys:
                blocks_of.setdefault(k, []).append(block)
        items = sorted(blocks_of.items())
        for i in range(0, len(items), 10_000):
            self.set_blocks(dict(items[i : i + 10_000]))

    @abstractmethod
    def records_in_blocks(self, block_keys: Iterable[str]) -> dict[str, list[str]]:
        """Block key -> member record keys (sorted); unknown blocks map to []."""

    # -- match edges -----------------------------------------------------------------
    @abstractmethod
    def write_matches(self, edges: Sequence[MatchEdge]) -> None:
        """Insert or replace scored pair decisions (keyed by the unordered pair)."""

    def replace_all_matches(self, edges: Sequence[MatchEdge], record_keys: Iterable[str]) -> None:
        """Every match edge a full run decided (`record_keys`: every record it covered),
        replacing all earlier ones at once, so a backend can bulk-load. This default
        deletes, then writes in batches."""
        self.delete_matches_touching(record_keys)
        for i in range(0, len(edges), 10_000):
            self.write_matches(edges[i : i + 10_000])

    @abstractmethod
    def delete_matches_touching(self, record_keys: Iterable[str]) -> int:
        """Remove every match edge with an end in `record_keys`; returns how many went.
        Resolution rescoring a component calls this before writing the new decisions."""

    def replace_matches_touching(self, record_keys: Iterable[str], edges: Sequence[MatchEdge]) -> None:
        """`delete_matches_touching(record_keys)`, then `write_matches(edges)`: what an
        incremental run does with the pairs it rescored. A networked backend may do both in
        one statement (and, returning nothing, defer it); this default calls the two."""
        self.delete_matches_touching(record_keys)
        self.write_matches(edges)

    @abstractmethod
    def matches_for(
        self, record_keys: Iterable[str], decision: str | None = None
    ) -> list[MatchEdge]:
        """Match edges with at least one end in `record_keys` (optionally one decision kind)."""

    @abstractmethod
    def get_match(self, a: str, b: str) -> MatchEdge | None: ...

    @abstractmethod
    def iter_matches(self, decision: str | None = None, batch_size: int = 10000) -> Iterator[MatchEdge]:
        """Every match edge, streamed; near misses with `decision="near_miss"`."""

    # -- entities ----------------------------------------------------------------------
    @abstractmethod
    def upsert_entities(self, entities: Sequence[Entity]) -> None:
        """Create or update entities by id (kind and attributes replaced)."""

    @abstractmethod
    def get_entities(self, ids: Iterable[str]) -> dict[str, Entity]:
        """Entities by their current id (aliases are not followed here; see resolve_ids)."""

    @abstractmethod
    def delete_entities(self, ids: Iterable[str]) -> None:
        """Remove entities and every membership/account/parent link that touches them."""

    @abstractmethod
    def list_entities(
        self, kind: str | None = None, after: str | None = None, limit: int = 100
    ) -> list[Entity]:
        """Entities ordered by id, strictly after `after`: the base of cursor pagination."""

    @abstractmethod
    def set_memberships(self, mapping: Mapping[str, str | None]) -> None:
        """Record key -> person entity id (MEMBER_OF); None removes the membership."""

    @abstractmethod
    def entity_of_records(self, record_keys: Iterable[str]) -> dict[str, str]:
        """Record key -> the entity it is a member of (records without one are absent)."""

    def region_step(self, record_keys: Iterable[str]) -> RegionStep:
        """One step of an incremental run's closed region around `record_keys`: their
        entities (`entity_of_records`), those entities' members (`members_of`), their
        accepted edges (`matches_for(..., MATCH)`) and the active overrides naming them
        (`get_overrides(record_keys=...)`). A networked backend may read all four in one
        round trip; this default makes the four calls."""
        keys = list(record_keys)
        entity_of = self.entity_of_records(keys)
        return RegionStep(
            entity_of=entity_of,
            members=self.members_of(set(entity_of.values())),
            matches=self.matches_for(keys, decision=MATCH),
            overrides=self.get_overrides(record_keys=keys),
        )

    @abstractmethod
    def members_of(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        """Entity id -> its member record keys (sorted); unknown ids map to []."""

    @abstractmethod
    def all_memberships(self) -> dict[str, str]:
        """Every record key -> entity id: the partition a full resolution compares against."""

    @abstractmethod
    def set_account_links(self, mapping: Mapping[str, str | None]) -> None:
        """Person entity id -> account entity id (BELONGS_TO); None removes it."""

    @abstractmethod
    def accounts_of(self, person_ids: Iterable[str]) -> dict[str, str]:
        """Person id -> account id, for persons that belong to one."""

    @abstractmethod
    def persons_of(self, account_ids: Iterable[str]) -> dict[str, list[str]]:
        """Account id -> person ids belonging to it (sorted)."""

    @abstractmethod
    def set_parent_links(self, mapping: Mapping[str, str | None]) -> None:
        """Account id -> parent account id (CHILD_OF); None removes it."""

    @abstractmethod
    def parents_of(self, account_ids: Iterable[str]) -> dict[str, str]: ...

    @abstractmethod
    def children_of(self, account_ids: Iterable[str]) -> dict[str, list[str]]: ...

    @abstractmethod
    def add_aliases(self, mapping: Mapping[str, str]) -> None:
        """Merged-away id -> the id that absorbed it. An id that is live again (a split
        handed it back) must have its alias removed with `remove_aliases`."""

    @abstractmethod
    def remove_aliases(self, alias_ids: Iterable[str]) -> None: ...

    @abstractmethod
    def resolve_ids(self, ids: Iterable[str]) -> dict[str, str]:
        """Any id ever issued -> the live entity id it now is (following alias chains).
        Live ids map to themselves; ids never seen are absent."""

    def entities_and_resolved(
        self, entity_ids: Iterable[str], resolve: Iterable[str]
    ) -> tuple[dict[str, Entity], dict[str, str]]:
        """`get_entities(entity_ids)` and `resolve_ids(resolve)` together: what id assignment
        reads (the previous entities, and whether the likely new ids are taken). A
        networked backend may read both in one round trip; this default makes the calls."""
        resolve = list(resolve)
        return self.get_entities(entity_ids), (self.resolve_ids(resolve) if resolve else {})

    @abstractmethod
    def aliases_of(self, entity_ids: Iterable[str]) -> dict[str, list[str]]:
        """Entity id -> the ids that were merged into it (directly or via chains), sorted."""

    # -- history, overrides, quarantine, runs --------------------------------------
    @abstractmethod
    def append_events(self, events: Sequence[EntityEvent]) -> list[EntityEvent]:
        """Append to the history; returns the events with their store-assigned `seq`."""

    @abstractmethod
    def events(
        self,
        entity_ids: Iterable[str] | None = None,
        since: str | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
        types: Iterable[str] | None = None,
    ) -> list[EntityEvent]:
        """History in append order (ascending seq), filtered by entity, time and type."""

    @abstractmethod
    def add_override(self, override: Override) -> None: ...

    @abstractmethod
    def remove_override(self, override_id: str, actor: str, reason: str, at: str) -> Override | None:
        """Mark an override removed (it stays on record); None if there is no active one."""

    @abstractmethod
    def get_overrides(
        self, active_only: bool = True, record_keys: Iterable[str] | None = None
    ) -> list[Override]:
        """Overrides ordered by creation time, optionally those touching `record_keys`."""

    @abstractmethod
    def add_quarantine(self, rows: Sequence[QuarantineRow]) -> None: ...

    @abstractmethod
    def quarantined(self, source: str | None = None, limit: int | None = None) -> list[QuarantineRow]:
        """Quarantined rows in arrival order."""

    @abstractmethod
    def save_run(self, run: Run) -> None:
        """Create or update a run by id."""

    def close_run(self, run: Run, events: Sequence[EntityEvent], meta: Mapping[str, str]) -> list[EntityEvent]:
        """What ends a resolution run, in this order: `append_events(events)`, `set_meta` for
        each of `meta`, `save_run(run)`; returns the events with their `seq`. A networked
        backend may write them in one statement; this default makes the calls."""
        out = self.append_events(events) if events else []
        for key, value in meta.items():
            self.set_meta(key, value)
        self.save_run(run)
        return out

    @abstractmethod
    def runs(self, kind: str | None = None, limit: int = 20) -> list[Run]:
        """Most recent first."""

    @abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    # -- health, API keys, search lookups (used by the API) ----------------------------
    def ping(self) -> None:
        """One cheap round trip that proves the store answers; raises StoreUnavailable if not.

        The API's readiness probe calls it; backends may override it with something
        cheaper than a metadata read.
        """
        self.get_meta("schema_version")

    @abstractmethod
    def add_api_key(self, key: ApiKey) -> None:
        """Store a new API key record (id and key_hash are unique; a duplicate raises)."""

    @abstractmethod
    def api_key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key record with this hash, revoked or not (the caller decides); None if unknown.

        This is the lookup every authenticated request makes, so it must be indexed.
        """

    @abstractmethod
    def list_api_keys(self, include_revoked: bool = True) -> list[ApiKey]:
        """Key records ordered by creation time (then id)."""

    @abstractmethod
    def revoke_api_key(self, key_id: str, at: str) -> ApiKey | None:
        """Mark an active key revoked at `at` (it stays on record); None if there is no
        active key with that id."""

    @abstractmethod
    def records_by_source_id(self, source_ids: Iterable[str]) -> dict[str, list[str]]:
        """For each source id, the keys of the records carrying it in any source (sorted):
        how a search for "0031x000001" finds the CRM contact without knowing the source.
        Unknown ids map to []."""

    @abstractmethod
    def records_by_name(self, names: Iterable[str], limit: int | None = None) -> dict[str, list[str]]:
        """For each normalized full name (the record's `norm["full_name"]`, compared
        exactly), the keys of the records with it (sorted; at most `limit` each when
        given). Unknown names map to []."""
