"""The resolution facade: records and evidence in, governed entities out.

`Resolver` is the one object the CLI and the API call (`resolve`, `link`, `split`,
`remove_override`, `explain`). A full run and an incremental run go through the same
stages (blocking -> scoring -> clustering -> stable IDs -> accounts); an incremental
run only feeds them a smaller, closed region of the graph: the changed records, the
records they can pair with, and every record of every entity those touch. That is why
the two give the same entities, and why incremental work stays proportional to the
change.
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from .accounts import AccountPlanner, previous_accounts
from .blocking import Candidates, block_keys, candidates_among, identifier_guards, index_views
from .clustering import OverrideConflict, cluster
from .explain import Explanation, explain_pair
from .gc_pause import gc_paused
from .ids import IdPlan, assign_ids, derived_id
from .model import CANNOT_LINK, LINK, MATCH, PERSON, Entity, EntityEvent, MatchEdge, Override, Run, utcnow
from .rules import Rules, load_rules
from .scoring import score_pair
from .store import GraphStore
from .views import RecordView, make_views, views_from_inputs

PERSON_PREFIX = "P-"
# The store's load watermark as of the last run's start: the next incremental run takes the
# records written after it (see GraphStore.load_watermark; no clock is involved).
WATERMARK_KEY = "resolve.load_watermark"
RULES_KEY = "resolve.rule_version"
_WRITE_BATCH = 10_000
# An incremental run over at most this many changed records runs as one store transaction
# (GraphStore.in_one_transaction): a round trip per statement, one commit. Bigger runs write
# in batches of their own, so that no transaction grows with the size of a load.
_ONE_TRANSACTION_MAX = 1_000

Progress = Callable[[str], None]


class ResolutionError(ValueError):
    """A request the resolver refuses (unknown record, contradictory override)."""


@dataclass
class ResolveSummary:
    """What one run did; printed by the CLI, stored with the run, returned by the API."""

    run_id: str
    rule_version: str
    mode: str
    records: int = 0
    candidate_pairs: dict[str, int] = field(default_factory=dict)
    matches: int = 0
    near_misses: int = 0
    persons: int = 0
    accounts: int = 0
    created: int = 0
    merged: int = 0
    split: int = 0
    moved: int = 0
    hub_identifiers_ignored: int = 0
    blocks_skipped: int = 0
    cuts: int = 0
    stages: dict[str, float] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


@dataclass
class OverrideOutcome:
    override: Override
    entity_ids: list[str]


class Resolver:
    """Rule-weighted clustering of records into person entities and accounts."""

    def __init__(self, store: GraphStore, rules: Rules | None = None) -> None:
        self.store = store
        self.rules = rules or load_rules()

    # -- runs --------------------------------------------------------------------------
    def resolve(
        self,
        full: bool = False,
        record_keys: Iterable[str] | None = None,
        progress: Progress | None = None,
        actor: str | None = None,
        cause: str = "resolve",
    ) -> ResolveSummary:
        """Resolve what changed since the last run (or everything, with `full`).

        A run whose rule version differs from the previous run's is always full: new
        rules may change any decision.
        """
        with gc_paused():
            return self._resolve(full, record_keys, progress, actor, cause)

    def _resolve(
        self, full: bool, record_keys: Iterable[str] | None, progress: Progress | None, actor: str | None, cause: str
    ) -> ResolveSummary:
        started = utcnow()

        def start() -> tuple[str, bool, list[str]]:
            # the mark is read before any record is: later writes come after it
            listing = record_keys is None and not full
            mark, stored, loaded = self.store.run_start(
                RULES_KEY, WATERMARK_KEY, self.rules.rule_version if listing else None
            )
            run_full = full
            if stored != self.rules.rule_version:
                run_full = True if record_keys is None else full
            keys: list[str] = []
            if not run_full:
                keys = sorted(set(record_keys)) if record_keys is not None else loaded or []
            return mark, run_full, keys

        def body(mark: str, full: bool, keys: list[str]) -> ResolveSummary:
            run = _Run(self, "full" if full else "incremental", progress or (lambda _m: None), actor, cause)
            if full:
                # a row per record and per entity: the store may defer index upkeep to the end
                with self.store.bulk_resolve():
                    run.full()
                    events = self._append_big(run.events)
                    t = time.perf_counter()
                run._stage("indexes", t)  # what the block's end built
            else:
                run.incremental(keys)
                events = self._append_big(run.events)
            summary = run.finish()
            meta = {WATERMARK_KEY: mark, RULES_KEY: self.rules.rule_version} if record_keys is None or full else {}
            self.store.close_run(
                Run(summary.run_id, "resolve", started, utcnow(), self.rules.rule_version, summary.as_dict()),
                events,
                meta,
            )
            return summary

        def small_run() -> tuple[str, bool, list[str]] | ResolveSummary:
            """The start, and the whole run in the same transaction when it is small (the
            start writes nothing, so a big run's start commits as if read on its own)."""
            mark, run_full, keys = start()
            if run_full or len(keys) > _ONE_TRANSACTION_MAX:
                return mark, run_full, keys
            return body(mark, run_full, keys)

        out = self.store.in_one_transaction(small_run)
        if isinstance(out, ResolveSummary):
            return out
        return body(*out)

    def _append_big(self, events: list[EntityEvent]) -> list[EntityEvent]:
        """A big run's events, appended in batches now; what is left for `close_run` (all of a
        small run's, in the transaction that ends it)."""
        if len(events) <= _WRITE_BATCH:
            return events
        for i in range(0, len(events), _WRITE_BATCH):
            self.store.append_events(events[i : i + _WRITE_BATCH])
        return []

    # -- steward overrides -------------------------------------------------------------
    def link(self, a: str, b: str, actor: str, reason: str) -> OverrideOutcome:
        """Must-link two records; re-resolves their component at once."""
        return self._override(LINK, a, b, actor, reason)

    def split(self, a: str, b: str, actor: str, reason: str) -> OverrideOutcome:
        """Cannot-link two records; their entity is cut along its weakest links."""
        return self._override(CANNOT_LINK, a, b, actor, reason)

    def remove_override(self, override_id: str, actor: str, reason: str) -> OverrideOutcome:
        active = {o.id: o for o in self.store.get_overrides()}
        if override_id not in active:
            raise ResolutionError(f"no active override with id {override_id!r}")
        removed = self.store.remove_override(override_id, actor, reason, utcnow())
        assert removed is not None
        self.resolve(record_keys=[removed.a, removed.b], actor=actor, cause=f"override {override_id} removed")
        self._log_override("override_removed", removed, actor, reason)
        return OverrideOutcome(removed, self._entities_of([removed.a, removed.b]))

    def _override(self, kind: str, a: str, b: str, actor: str, reason: str) -> OverrideOutcome:
        if a == b:
            raise ResolutionError("an override needs two different records")
        if not reason or not reason.strip():
            raise ResolutionError("an override needs a reason")
        known = self.store.get_records([a, b])
        for key in (a, b):
            if key not in known:
                raise ResolutionError(f"unknown record {key!r}")
        self._check_consistent(kind, a, b)
        override = Override(
            id="ovr-" + secrets.token_hex(6), kind=kind, a=a, b=b, actor=actor, reason=reason.strip()
        )
        self.store.add_override(override)
        try:
            self.resolve(record_keys=[a, b], actor=actor, cause=f"override {override.id}")
        except OverrideConflict as exc:
            self.store.remove_override(override.id, "system", f"rejected: {exc}", utcnow())
            raise ResolutionError(str(exc)) from None
        self._log_override("override_added", override, actor, reason)
        return OverrideOutcome(override, self._entities_of([a, b]))

    def _check_consistent(self, kind: str, a: str, b: str) -> None:
        """Refuse an override that contradicts the active ones (a must-link chain vs a cannot-link)."""
        from .clustering import UnionFind

        overrides = self.store.get_overrides()
        uf = UnionFind()
        links = [(o.a, o.b) for o in overrides if o.kind == LINK] + ([(a, b)] if kind == LINK else [])
        for x, y in links:
            uf.union(x, y)
        cannots = [(o.a, o.b) for o in overrides if o.kind == CANNOT_LINK] + ([(a, b)] if kind == CANNOT_LINK else [])
        for x, y in cannots:
            if uf.find(x) == uf.find(y):
                raise ResolutionError(
                    f"override contradicts the active overrides: {x} and {y} are must-linked and cannot-linked"
                )

    def _log_override(self, event: str, o: Override, actor: str, reason: str) -> None:
        ents = self.store.entity_of_records([o.a, o.b])
        self.store.append_events(
            [
                EntityEvent(
                    entity_id=eid, type=event, actor=actor, cause=reason, rule_version=self.rules.rule_version,
                    details={"override_id": o.id, "kind": o.kind, "a": o.a, "b": o.b},
                )
                for eid in sorted(set(ents.values()))
            ]
        )

    def _entities_of(self, keys: list[str]) -> list[str]:
        ents = self.store.entity_of_records(keys)
        return [ents[k] for k in keys if k in ents]

    # -- explanations ----------------------------------------------------------------
    def explain(self, a: str, b: str) -> Explanation:
        """Why two records are one entity (the evidence path), or why not."""
        return explain_pair(self.store, self.rules, a, b)


class _Run:
    """One resolution run's working state; `full()` or `incremental()` then `finish()`."""

    def __init__(self, resolver: Resolver, mode: str, progress: Progress, actor: str | None, cause: str) -> None:
        self.store = resolver.store
        self.rules = resolver.rules
        self.progress = progress
        self.actor = actor
        self.cause = cause
        self.t0 = time.perf_counter()
        self.summary = ResolveSummary(
            run_id=f"run-{datetime.now().strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}",
            rule_version=self.rules.rule_version,
            mode=mode,
        )
        self.events: list[EntityEvent] = []
        self._cuts: list[dict[str, object]] = []
        self._old_entities: dict[str, Entity] = {}  # the previous person entities, as read by _cluster_persons

    def _stage(self, name: str, t: float) -> float:
        now = time.perf_counter()
        self.summary.stages[name] = round(self.summary.stages.get(name, 0.0) + now - t, 3)
        return now

    # -- full ----------------------------------------------------------------------------
    def full(self) -> None:
        t = time.perf_counter()
        self.progress("reading records")
        views = views_from_inputs(self.store.iter_match_inputs(batch_size=20_000), self.rules)
        self.summary.records = len(views)
        carriers, blocks = index_views(views.values(), self.rules)
        degrees = {ik: len(members) for ik, members in carriers.items()}
        guards = identifier_guards(degrees, self.rules)
        t = self._stage("read", t)

        self.progress(f"blocking {len(views):,} records")
        cands = candidates_among(carriers, blocks, guards, self.rules)
        t = self._stage("blocking", t)
        self.progress(f"scoring {len(cands.pairs):,} candidate pairs")
        edges = self._score(cands, views, guards)
        t = self._stage("scoring", t)

        self.progress(f"writing {len(edges):,} match edges")
        keys = sorted(views)
        self.store.replace_all_matches(edges, keys)
        self.store.replace_all_blocks(blocks, keys)
        del blocks
        t = self._stage("write_edges", t)

        self.progress("clustering persons")
        accepted = [(e.a, e.b, e.score) for e in edges if e.decision == MATCH]
        del edges
        overrides = self.store.get_overrides()
        previous = self.store.all_memberships()
        for stale in set(previous) - set(views):
            previous.pop(stale)
        plan = self._cluster_persons(keys, accepted, overrides, previous)
        t = self._stage("clustering", t)
        prev_acct = previous_accounts(self.store, previous)
        self.progress(f"writing {len(plan.clusters):,} person entities")
        self._write_persons(plan, previous, views, full=True)
        t = self._stage("write_persons", t)

        self.progress("building accounts")
        AccountPlanner(self.store, self.rules, self.summary, self.events).run_full(
            views, plan, prev_acct, carriers, guards
        )
        self._stage("accounts", t)

    # -- incremental ---------------------------------------------------------------------
    def incremental(self, changed: list[str]) -> None:
        if not changed:
            return
        t = time.perf_counter()
        rules = self.rules
        store = self.store
        records, found_idents = store.records_and_identifiers(changed)
        changed = sorted(records)
        views = make_views(records.values(), rules)
        # Identifiers or blocks near a guard's limit may have flipped between usable and
        # hub with this change: every pair they form is rescored, as a full run would.
        slack = len(changed)
        ident_of = {k: found_idents[k] for k in changed}
        near_limit: list[str] = []
        for idents in ident_of.values():
            for ident in idents:
                rule = rules.evidence.get(ident.kind)
                if rule and rule.max_degree is not None and abs(ident.degree - rule.max_degree) <= slack:
                    near_limit.append(ident.key)
        my_blocks = {v.key: block_keys(v, rules) for v in views.values()}
        block_members = store.records_in_blocks({b for bs in my_blocks.values() for b in bs})
        for v in views.values():  # the changed records' own block entries may be stale yet
            for b, members in block_members.items():
                if v.key in members and b not in my_blocks[v.key]:
                    members.remove(v.key)
            for b in my_blocks[v.key]:
                if v.key not in block_members[b]:
                    block_members[b].append(v.key)
        rescore = set(changed)
        for members in store.records_with_identifiers(near_limit).values():
            rescore.update(members)
        for members in block_members.values():
            if abs(len(members) - rules.blocking.max_block_size) <= slack:
                rescore.update(members)
        extra = sorted(rescore - set(views))
        if extra:
            extra_records, extra_idents = store.records_and_identifiers(extra)
            views.update(make_views(extra_records.values(), rules))
            ident_of.update(extra_idents)
            more_blocks = {k: block_keys(views[k], rules) for k in extra}
            my_blocks.update(more_blocks)
            for b, members in store.records_in_blocks(
                {b for bs in more_blocks.values() for b in bs} - set(block_members)
            ).items():
                block_members[b] = members
        degrees = {i.key: i.degree for idents in ident_of.values() for i in idents}
        guards = identifier_guards(degrees, rules)
        person_idents = [ik for ik in degrees if ik.partition(":")[0] in rules.person_kinds and ik not in guards]
        carriers = store.records_with_identifiers(person_idents)
        blocks = {b: block_members[b] for bs in my_blocks.values() for b in bs}
        neighbours = sorted(
            ({k for ms in carriers.values() for k in ms} | {k for b in blocks.values() for k in b}) - set(views)
        )
        if neighbours:
            views.update(make_views(store.get_records(neighbours).values(), rules))
        self.summary.records = len(rescore)
        t = self._stage("read", t)

        cands = candidates_among(carriers, blocks, guards, rules, focus=rescore)
        t = self._stage("blocking", t)
        edges = self._score(cands, views, guards)
        t = self._stage("scoring", t)
        store.replace_matches_touching(sorted(rescore), edges)
        store.set_blocks({k: block_keys(views[k], rules) for k in sorted(rescore)})
        t = self._stage("write_edges", t)

        region, previous, accepted, overrides = self._closed_region(rescore)
        missing = sorted(set(region) - set(views))
        if missing:
            views.update(make_views(store.get_records(missing).values(), rules))
        plan = self._cluster_persons(sorted(region), accepted, overrides, previous)
        t = self._stage("clustering", t)
        prev_acct = previous_accounts(store, previous)
        self._write_persons(plan, previous, views, full=False)
        t = self._stage("write_persons", t)
        AccountPlanner(store, rules, self.summary, self.events, ident_of).run_region(plan, prev_acct)
        self._stage("accounts", t)

    def _closed_region(
        self, seeds: set[str]
    ) -> tuple[set[str], dict[str, str], list[tuple[str, str, float]], list[Override]]:
        """Every record the seeds' entities can reach: accepted edges, must-links, and all
        members of every entity touched. Reclustering this set equals a full rerun's
        answer for it, because no accepted edge or must-link leaves it."""
        store = self.store
        region: set[str] = set()
        frontier = set(seeds)
        previous: dict[str, str] = {}
        edges: dict[tuple[str, str], float] = {}
        overrides: dict[str, Override] = {}
        while frontier:
            region |= frontier
            step = store.region_step(sorted(frontier))
            previous.update(step.entity_of)
            nxt: set[str] = set()
            for members in step.members.values():
                nxt.update(members)
            for e in step.matches:
                edges[e.pair] = e.score
                nxt.update(e.pair)
            for o in step.overrides:
                overrides[o.id] = o
                if o.kind == LINK:
                    nxt.update((o.a, o.b))
            frontier = nxt - region
        accepted = [(a, b, w) for (a, b), w in sorted(edges.items())]
        return region, previous, accepted, sorted(overrides.values(), key=lambda o: (o.created_at, o.id))

    # -- shared stages -------------------------------------------------------------------
    def _score(self, cands: Candidates, views: dict[str, RecordView], guards: dict[str, str]) -> list[MatchEdge]:
        s = self.summary
        for src, n in cands.by_source.items():
            s.candidate_pairs[src] = s.candidate_pairs.get(src, 0) + n
        s.hub_identifiers_ignored += len(cands.skipped_hubs)
        s.blocks_skipped += len(cands.skipped_blocks)
        edges: list[MatchEdge] = []
        run_id = s.run_id
        rules = self.rules
        for a, b in sorted(cands.pairs):
            va, vb = views.get(a), views.get(b)
            if va is None or vb is None:
                continue
            e = score_pair(va, vb, guards, rules, run_id)
            if e is not None:
                edges.append(e)
        s.matches += sum(1 for e in edges if e.decision == MATCH)
        s.near_misses += sum(1 for e in edges if e.decision != MATCH)
        return edges

    def _cluster_persons(
        self,
        nodes: list[str],
        accepted: list[tuple[str, str, float]],
        overrides: list[Override],
        previous: dict[str, str],
    ) -> IdPlan:
        present = set(nodes)
        musts = [(o.a, o.b) for o in overrides if o.kind == LINK and o.a in present and o.b in present]
        cannots = [(o.a, o.b) for o in overrides if o.kind == CANNOT_LINK and o.a in present and o.b in present]
        clusters, cuts = cluster(nodes, accepted, musts, cannots)
        self.summary.cuts += len(cuts)
        old_ids = set(previous.values())
        # Is an id already issued (live or alias)? Checked in one batch for the likely ids.
        likely = [derived_id(PERSON_PREFIX, min(c)) for c in clusters if c]
        self._old_entities, resolved = self.store.entities_and_resolved(old_ids, likely)
        created_at = {eid: e.created_at for eid, e in self._old_entities.items()}
        plan = assign_ids(clusters, previous, created_at, PERSON_PREFIX, self._taken(likely, set(resolved)))
        self._cuts = cuts
        return plan

    def _taken(self, checked_ids: list[str], known: set[str]) -> Callable[[str], bool]:
        """Is an id already issued? `known`: those of `checked_ids` that are; others are asked."""
        checked = set(checked_ids)

        def taken(eid: str) -> bool:
            if eid in checked:
                return eid in known
            return bool(self.store.resolve_ids([eid]))

        return taken

    def _write_persons(
        self, plan: IdPlan, previous: dict[str, str], views: dict[str, RecordView], full: bool
    ) -> None:
        store = self.store
        s = self.summary
        rv = self.rules.rule_version
        dead = sorted(plan.aliases)
        if full:
            live_now = set(plan.clusters)
            dead = sorted((set(previous.values()) | {e.id for e in _all_persons(store)}) - live_now)
        if dead:
            store.delete_entities(dead)
        if plan.aliases:
            store.add_aliases(plan.aliases)
        # Each cluster keeps an old id (read in _cluster_persons; the deletes and aliases since
        # touch other ids) or gets a new one that no live entity or alias holds: no read needed.
        existing = {eid: e for eid in plan.clusters if (e := self._old_entities.get(eid)) is not None}
        changed: list[Entity] = []
        for eid, members in plan.clusters.items():
            attrs = person_display(members, views)
            old = existing.get(eid)
            if old is None or old.attrs != attrs or old.kind != PERSON:
                changed.append(Entity(eid, PERSON, attrs))
        # in id order: ids are hashes, and batches in random order would each land all over the
        # store's id index (a first run at 1M writes ~450k entities)
        changed.sort(key=lambda e: e.id)
        for i in range(0, len(changed), _WRITE_BATCH):
            store.upsert_entities(changed[i : i + _WRITE_BATCH])
        membership = {m: eid for eid, members in plan.clusters.items() for m in members if previous.get(m) != eid}
        items = sorted(membership.items())
        for i in range(0, len(items), _WRITE_BATCH * 5):
            store.set_memberships(dict(items[i : i + _WRITE_BATCH * 5]))

        ev = self.events
        run_id = s.run_id

        def event(eid: str, type_: str, **details: object) -> None:
            ev.append(EntityEvent(eid, type_, run_id=run_id, rule_version=rv, cause=self.cause, actor=self.actor,
                                  details=dict(details)))

        for eid in plan.created:
            event(eid, "created", records=sorted(plan.clusters[eid]))
        for survivor, absorbed in plan.merged.items():
            event(survivor, "merged", absorbed=absorbed, records=len(plan.clusters[survivor]))
            for old in absorbed:
                event(old, "merged_into", into=survivor)
        for old, parts in plan.split.items():
            event(old, "split", into=parts)
        created = set(plan.created)
        for eid, recs in plan.added.items():
            if eid not in created:
                event(eid, "record_added", records=recs)
        for eid, moves in plan.moved.items():
            event(eid, "record_moved", records=[{"record": m, "from": f} for m, f in moves])
        if self._cuts:
            owner = plan.membership()
            for cut in self._cuts:
                for end in cut["cannot_link"]:  # type: ignore[attr-defined]
                    event(owner[end], "cut", **cut)
        s.created += len(plan.created)
        s.merged += sum(len(v) for v in plan.merged.values())
        s.split += len(plan.split)
        s.moved += sum(len(v) for v in plan.moved.values())

    def finish(self) -> ResolveSummary:
        """The summary's counts; the caller writes `events` with the run (GraphStore.close_run)."""
        counts = self.store.entity_counts()
        self.summary.persons = counts["persons"]
        self.summary.accounts = counts["accounts"]
        self.summary.elapsed_s = round(time.perf_counter() - self.t0, 3)
        return self.summary


def _all_persons(store: GraphStore) -> Iterable[Entity]:
    after = None
    while True:
        page = store.list_entities(kind=PERSON, after=after, limit=10_000)
        if not page:
            return
        yield from page
        after = page[-1].id


def person_display(members: set[str], views: dict[str, RecordView]) -> dict[str, object]:
    """Display attributes until golden records exist: the most common name, sources, size."""
    names: Counter[str] = Counter()
    sources: set[str] = set()
    for m in members:
        sources.add(m.partition(":")[0])
        v = views.get(m)
        if v is not None and v.fields.get("full_name"):
            names[v.fields["full_name"]] += 1
    name = min(names.items(), key=lambda kv: (-kv[1], kv[0]))[0].title() if names else None
    return {"name": name, "records": len(members), "sources": sorted(sources)}


__all__ = ["Resolver", "ResolveSummary", "OverrideOutcome", "ResolutionError", "Explanation"]
