"""Accounts and account hierarchies over resolved persons.

Persons are grouped into an account when their records share usable account-level
evidence (a corporate domain, a payment entity); hub guards apply here too, so a
reseller paying for many companies does not fuse them. A person with no account
evidence belongs to no account. Hierarchy: an account is a child of the account that
holds its records' parent payment entity (billing's parent), or of the account holding
the parent domain configured in `accounts.domain_parents`; links that would close a
cycle are dropped. Account IDs follow the same stability rules as person IDs, counted
in records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Generic, TypeVar

from .blocking import identifier_guards, spread_guards
from .clustering import UnionFind
from .ids import IdPlan, assign_ids, derived_id
from .model import ACCOUNT, Entity, EntityEvent, Identifier
from .rules import Rules
from .store import GraphStore
from .views import RecordView, make_views

if TYPE_CHECKING:
    from .resolution import ResolveSummary

ACCOUNT_PREFIX = "A-"
T = TypeVar("T")


def previous_accounts(
    store: GraphStore, person_of: Mapping[str, str], accounts_of: Callable[[Iterable[str]], dict[str, str]] | None = None
) -> dict[str, str]:
    """Record -> the account its person belonged to, read before persons are rewritten."""
    acct = {}
    persons = set(person_of.values())
    if persons:
        acct = (accounts_of or store.accounts_of)(persons)
    return {r: acct[p] for r, p in person_of.items() if p in acct}


class _Known(Generic[T]):
    """Per-key answers of one store read, each key read once: an incremental run asks for the
    same persons' accounts, or the same records' identifiers, several times, and on a
    networked store every ask is a round trip. Valid while the store does not change what
    is cached: identifiers do not change during a run, and person -> account links change
    only in `AccountPlanner._write`, after the region is read (see `forget_answers`)."""

    def __init__(self, read: Callable[[list[str]], Mapping[str, T]], known: Mapping[str, T] | None = None) -> None:
        self._read = read
        self._known: dict[str, T | None] = dict(known or {})

    def get(self, keys: Iterable[str]) -> dict[str, T]:
        keys = set(keys)
        missing = sorted(k for k in keys if k not in self._known)
        if missing:
            got = self._read(missing)
            for k in missing:
                self._known[k] = got.get(k)
        return {k: v for k in keys if (v := self._known[k]) is not None}

    def forget_answers(self, answers: set[str]) -> None:
        """Drop the keys whose answer is one of `answers` (they are read again if asked)."""
        for k in [k for k, v in self._known.items() if v in answers]:
            del self._known[k]


class AccountPlanner:
    def __init__(
        self,
        store: GraphStore,
        rules: Rules,
        summary: ResolveSummary,
        events: list[EntityEvent],
        identifiers_of: Mapping[str, list[Identifier]] | None = None,
    ) -> None:
        """`identifiers_of`: records' identifiers the caller already read in this run."""
        self.store = store
        self.rules = rules
        self.summary = summary
        self.events = events
        self.kinds = rules.account_kinds
        self._prefixes = tuple(f"{k}:" for k in sorted(self.kinds))  # an identifier key is "kind:value"
        self._idents = _Known(store.identifiers_of_records, identifiers_of)
        self._accounts: _Known[str] | None = None  # person -> account, read once (run_region)
        self._old_entities: dict[str, Entity] = {}  # the previous accounts, as read by _assign

    # -- entry points ----------------------------------------------------------------
    def run_full(
        self,
        views: Mapping[str, RecordView],
        persons: IdPlan,
        prev_acct: Mapping[str, str],
        all_carriers: Mapping[str, list[str]],
        all_guards: Mapping[str, str],
    ) -> None:
        """`all_carriers`, `all_guards`: every identifier's records and guard verdicts, as the
        full run derived them from the same `views` (`index_views`, `identifier_guards`): the
        account-level ones are taken from there rather than counted again over every
        record's identifiers (about 5 s of a 1M-record run)."""
        is_mine = self._kind
        guards = {ik: g for ik, g in all_guards.items() if is_mine(ik)}
        carriers = {ik: rs for ik, rs in all_carriers.items() if is_mine(ik) and ik not in guards}
        checked = self._spread_checked(carriers)
        domains_of = {r: _domains(views[r].idents) for rs in checked.values() for r in rs}
        guards.update(spread_guards(checked, domains_of, self.rules))
        person_of = persons.membership()
        clusters = _cluster_carried(persons.clusters, person_of, carriers, guards)
        plan = self._assign(clusters, prev_acct)
        dead = {e.id for e in self._all_accounts()} - set(plan.clusters)

        def lookup(ik: str) -> list[str]:
            return carriers.get(ik, [])

        self._write(plan, persons.clusters, person_of, views, prev_acct, lookup, dead, region_persons=set(persons.clusters))

    def run_region(self, persons: IdPlan, prev_acct: Mapping[str, str]) -> None:
        store = self.store
        self._accounts = _Known(store.accounts_of)
        persons_of: _Known[list[str]] = _Known(store.persons_of)  # no link changes until _write
        region: set[str] = set(persons.clusters)
        seed_accounts = set(prev_acct.values())
        for ps in persons_of.get(seed_accounts).values():
            region.update(ps)
        members: dict[str, set[str]] = {p: set(m) for p, m in persons.clusters.items()}
        frontier = set(region)
        idents_seen: set[str] = set()
        degrees: dict[str, int] = {}
        spread: dict[str, str] = {}
        # Records this run rewrote: an identifier they carry may have just become a hub, and
        # the accounts it used to join must then be rebuilt too (a full run would split them).
        changed = {r for ms in persons.clusters.values() for r in ms}
        changed_carry: Counter[str] = Counter()
        while frontier:
            need = [p for p in frontier if p not in members]
            for p, ms in store.members_of(need).items():
                members[p] = set(ms)
            recs = [r for p in frontier for r in members.get(p, ())]
            new_idents: set[str] = set()
            for rk, idents in self._idents.get(recs).items():
                for i in idents:
                    if i.kind in self.kinds:
                        degrees[i.key] = i.degree
                        if rk in changed:
                            changed_carry[i.key] += 1
                        if i.key not in idents_seen:
                            new_idents.add(i.key)
            idents_seen |= new_idents
            guards = identifier_guards({k: degrees[k] for k in new_idents}, self.rules)
            usable = [k for k in new_idents if k not in guards]
            revisit = [k for k in guards if self._degree_may_have_flipped(k, degrees[k], changed_carry[k])]
            carriers = store.records_with_identifiers(usable + revisit)
            checked = self._spread_checked({k: carriers[k] for k in usable})
            if checked:
                need_domains = {r for rs in checked.values() for r in rs}
                domains_of = {
                    r: _domains(i.key for i in ids) for r, ids in self._idents.get(need_domains).items()
                }
                found_spread = spread_guards(checked, domains_of, self.rules)
                spread.update(found_spread)
                before = {k: [r for r in checked[k] if r not in changed] for k in found_spread}
                unchanged_only = spread_guards(before, domains_of, self.rules)
                revisit.extend(k for k in found_spread if k not in unchanged_only)
                carriers = {k: rs for k, rs in carriers.items() if k not in found_spread or k in revisit}
            owners = store.entity_of_records({r for rs in carriers.values() for r in rs})
            found = set(owners.values())
            accts = self._accounts.get(found)
            for ps in persons_of.get(set(accts.values())).values():
                found.update(ps)
            frontier = found - region
            region |= frontier
        guards = identifier_guards(degrees, self.rules)
        guards.update(spread)
        all_records = sorted({r for p in region for r in members.get(p, ())})
        views = make_views(store.get_records(all_records).values(), self.rules)
        region_members = {p: members[p] for p in region if p in members}
        person_of = {r: p for p, ms in region_members.items() for r in ms}
        # accounts of records outside the rewritten persons are still current
        outside = {r: p for r, p in person_of.items() if p not in persons.clusters}
        prev = dict(prev_acct)
        prev.update(previous_accounts(store, outside, self._accounts.get))
        clusters = self._cluster(region_members, views, guards)
        plan = self._assign(clusters, prev)
        dead = set(plan.aliases)

        def lookup(ik: str) -> list[str]:
            return store.records_with_identifiers([ik])[ik]

        self._write(plan, region_members, person_of, views, prev, lookup, dead, region_persons=region)

    # -- stages ----------------------------------------------------------------------
    def _kind(self, ik: str) -> bool:
        return ik.startswith(self._prefixes)

    def _degree_may_have_flipped(self, ik: str, degree: int, carried_by_changed: int) -> bool:
        """A degree hub now that may not have been one before this run's changes (deny
        patterns never flip: they depend on the value alone)."""
        kind, _, value = ik.partition(":")
        rule = self.rules.evidence.get(kind)
        if rule is None or rule.max_degree is None or self.rules.guard(kind, value, 0) is not None:
            return False
        return degree - carried_by_changed <= rule.max_degree

    def _spread_checked(self, carriers: Mapping[str, list[str]]) -> dict[str, list[str]]:
        """The carriers of identifiers whose kind has a `max_domains` limit."""
        limited = {k for k, r in self.rules.evidence.items() if r.max_domains is not None}
        return {ik: rs for ik, rs in carriers.items() if ik.partition(":")[0] in limited}

    def _cluster(
        self, person_members: Mapping[str, set[str]], views: Mapping[str, RecordView], guards: Mapping[str, str]
    ) -> list[set[str]]:
        """Account clusters as sets of record keys (persons with no usable evidence left out)."""
        uf = UnionFind()
        owner: dict[str, str] = {}
        for pid in sorted(person_members):
            has_evidence = False
            for r in person_members[pid]:
                v = views.get(r)
                if v is None:
                    continue
                for ik in v.idents:
                    if self._kind(ik) and ik not in guards:
                        has_evidence = True
                        first = owner.setdefault(ik, pid)
                        uf.union(first, pid)
            if has_evidence:
                uf.find(pid)
        return [{r for pid in group for r in person_members[pid]} for group in uf.groups()]

    def _assign(self, clusters: list[set[str]], prev: Mapping[str, str]) -> IdPlan:
        likely = [derived_id(ACCOUNT_PREFIX, min(c)) for c in clusters if c]
        self._old_entities, resolved = self.store.entities_and_resolved(set(prev.values()), likely)
        created_at = {eid: e.created_at for eid, e in self._old_entities.items()}
        known = set(resolved)
        checked = set(likely)

        def taken(eid: str) -> bool:
            return eid in known if eid in checked else bool(self.store.resolve_ids([eid]))

        return assign_ids(clusters, prev, created_at, ACCOUNT_PREFIX, taken)

    def _all_accounts(self) -> Iterable[Entity]:
        after = None
        while True:
            page = self.store.list_entities(kind=ACCOUNT, after=after, limit=10_000)
            if not page:
                return
            yield from page
            after = page[-1].id

    def _write(
        self,
        plan: IdPlan,
        person_members: Mapping[str, set[str]],
        person_of: Mapping[str, str],
        views: Mapping[str, RecordView],
        prev: Mapping[str, str],
        lookup: Callable[[str], list[str]],
        dead: set[str],
        region_persons: set[str],
    ) -> None:
        store = self.store
        acct_of_record = plan.membership()
        children_of_dead = store.children_of(dead) if dead else {}
        if dead:
            store.delete_entities(sorted(dead))
            if self._accounts is not None:  # links to a deleted account went with it
                self._accounts.forget_answers(dead)
        if plan.aliases:
            store.add_aliases(plan.aliases)
        # an account keeps an old id (read by _assign) or gets one no live entity or alias holds
        existing = {aid: e for aid in plan.clusters if (e := self._old_entities.get(aid)) is not None}
        changed = []
        for aid, recs in plan.clusters.items():
            attrs = account_display(recs, views)
            old = existing.get(aid)
            if old is None or old.attrs != attrs:
                changed.append(Entity(aid, ACCOUNT, attrs))
        changed.sort(key=lambda e: e.id)  # in id order, as persons are (Resolver._write_persons)
        for i in range(0, len(changed), 10_000):
            store.upsert_entities(changed[i : i + 10_000])

        links: dict[str, str | None] = {}
        current = self._accounts.get(region_persons) if self._accounts is not None else store.accounts_of(region_persons)
        for pid in region_persons:
            ms = person_members.get(pid)
            if not ms:
                continue
            target = acct_of_record.get(next(iter(ms)))
            if current.get(pid) != target:
                links[pid] = target
        if links:
            store.set_account_links(links)

        parents = self._parents(plan, views, lookup, acct_of_record, person_of)
        retarget = {c: plan.aliases[d] for d, cs in children_of_dead.items() for c in cs if d in plan.aliases}
        for child, parent in retarget.items():
            parents.setdefault(child, parent)
        current_parents = store.parents_of(set(plan.clusters) | set(retarget))
        updates = {c: p for c, p in parents.items() if current_parents.get(c) != p}
        for aid in plan.clusters:
            if aid not in parents and aid in current_parents:
                updates[aid] = None
        if updates:
            store.set_parent_links(updates)

        rv, run_id = self.rules.rule_version, self.summary.run_id
        for aid in plan.created:
            self.events.append(EntityEvent(aid, "created", run_id=run_id, rule_version=rv, details={"kind": ACCOUNT}))
        for survivor, absorbed in plan.merged.items():
            self.events.append(EntityEvent(survivor, "merged", run_id=run_id, rule_version=rv, details={"absorbed": absorbed}))
            for old in absorbed:
                self.events.append(EntityEvent(old, "merged_into", run_id=run_id, rule_version=rv, details={"into": survivor}))
        for old, parts in plan.split.items():
            self.events.append(EntityEvent(old, "split", run_id=run_id, rule_version=rv, details={"into": parts}))

    def _parents(
        self,
        plan: IdPlan,
        views: Mapping[str, RecordView],
        lookup: Callable[[str], list[str]],
        acct_of_record: Mapping[str, str],
        person_of: Mapping[str, str],
    ) -> dict[str, str]:
        """Account -> parent account, from parent payment entities and domain parents."""
        acc = self.rules.accounts
        wanted: dict[str, Counter[str]] = {}
        unknown_records: set[str] = set()
        asks: dict[str, list[str]] = {}
        parent_attribute, parent_prefix, domain_parents = acc.parent_attribute, f"{acc.parent_kind}:", acc.domain_parents
        for aid, recs in plan.clusters.items():
            targets: list[str] = []
            for r in recs:
                v = views.get(r)
                if v is None:
                    continue
                ppe = v.fields.get(parent_attribute)
                if ppe:
                    targets.append(parent_prefix + ppe)
                if domain_parents:  # none configured by default: no need to look at every identifier
                    for ik in v.idents:
                        kind, _, value = ik.partition(":")
                        if kind == "domain" and value in domain_parents:
                            targets.append(f"domain:{domain_parents[value]}")
            if targets:
                asks[aid] = targets
        resolved: dict[str, list[str]] = {}
        for targets in asks.values():
            for ik in targets:
                if ik not in resolved:
                    resolved[ik] = lookup(ik)
                    unknown_records.update(r for r in resolved[ik] if r not in acct_of_record)
        outside_acct: dict[str, str] = {}
        if unknown_records:
            persons = self.store.entity_of_records(unknown_records)
            accts = self.store.accounts_of(set(persons.values()))
            outside_acct = {r: accts[p] for r, p in persons.items() if p in accts}
        for aid, targets in asks.items():
            votes: Counter[str] = Counter()
            for ik in targets:
                for r in resolved[ik]:
                    parent = acct_of_record.get(r) or outside_acct.get(r)
                    if parent and parent != aid:
                        votes[parent] += 1
            if votes:
                wanted[aid] = votes
        out: dict[str, str] = {}
        for aid in sorted(wanted):
            votes = wanted[aid]
            parent = min(votes, key=lambda p: (-votes[p], p))
            if not self._would_cycle(aid, parent, out):
                out[aid] = parent
        return out

    def _would_cycle(self, child: str, parent: str, pending: Mapping[str, str]) -> bool:
        seen = {child}
        node: str | None = parent
        for _ in range(100):
            if node is None:
                return False
            if node in seen:
                return True
            seen.add(node)
            node = pending.get(node) or self.store.parents_of([node]).get(node)
        return True


def _cluster_carried(
    person_members: Mapping[str, set[str]],
    person_of: Mapping[str, str],
    carriers: Mapping[str, list[str]],
    guards: Mapping[str, str],
) -> list[set[str]]:
    """`AccountPlanner._cluster` for a full run, which holds every usable identifier's
    records already: the same groups (assign_ids orders them), from the account-level
    links alone rather than from every identifier of every record (~4 s less at 1M)."""
    uf = UnionFind()
    for ik, recs in carriers.items():
        if ik in guards or not recs:
            continue
        first = person_of[recs[0]]
        uf.find(first)
        for r in recs:
            p = person_of[r]
            if p != first:
                uf.union(first, p)
    return [{r for pid in group for r in person_members[pid]} for group in uf.groups()]


def _domains(idents: Iterable[str]) -> set[str]:
    return {ik for ik in idents if ik.startswith("domain:")}


def account_display(records: set[str], views: Mapping[str, RecordView]) -> dict[str, object]:
    names: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    for r in records:
        v = views.get(r)
        if v is None:
            continue
        if v.fields.get("company"):
            names[v.fields["company"]] += 1
        for ik in v.idents:
            if ik.startswith("domain:"):
                domains[ik[7:]] += 1
    name = min(names.items(), key=lambda kv: (-kv[1], kv[0]))[0].title() if names else None
    return {"name": name, "domains": sorted(domains, key=lambda d: (-domains[d], d))[:5], "records": len(records)}
