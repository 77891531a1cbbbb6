"""The demo's data half: sample data generated, loaded, resolved, reconciled, evaluated.

`entitystore demo` serves the API on top of this; tests call it directly. It refuses to
overwrite a store that holds anything but an earlier demo, so pointing the demo at a
real store by mistake loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loaders.generate import generate
from loaders.load import LoadSummary, load_folder

from .evaluate import Evaluation, evaluate
from .model import MATCH
from .reconcile import Reconciliation, reconcile
from .resolution import Resolver, ResolveSummary
from .store import GraphStore

DEMO_MARK = "demo.seed"


class DemoRefused(ValueError):
    """The store holds data the demo did not put there."""


@dataclass
class DemoExamples:
    """Real keys from the demo data, for example queries that answer something."""

    record: tuple[str, str]  # (source, source id) of a record whose entity spans sources
    entity_id: str
    pair: tuple[str, str]  # two record keys merged by evidence (explainMatch)
    near_miss: tuple[str, str] | None  # two record keys kept apart, just under the threshold
    search: str  # a surname to search for


@dataclass
class DemoRun:
    folder: Path
    loads: dict[str, LoadSummary]
    resolve: ResolveSummary
    reconciliation: Reconciliation
    evaluation: Evaluation
    examples: DemoExamples
    notes: list[str] = field(default_factory=list)


def run_demo(
    store: GraphStore,
    folder: str | Path,
    records: int = 20_000,
    seed: int = 42,
    progress: Callable[[str], None] | None = None,
) -> DemoRun:
    """Generate `records` sample records into `folder`, then load, resolve and report."""
    say = progress or (lambda _m: None)
    counts = store.counts()
    if counts.get("records", 0) and store.get_meta(DEMO_MARK) is None:
        raise DemoRefused(
            f"store {store.info().uri} already holds {counts['records']:,} records that the demo did not load; "
            "pass --store sqlite:///demo.db (or another empty store) to run the demo beside them"
        )
    store.wipe()
    store.set_meta(DEMO_MARK, str(seed))
    out = Path(folder)
    say(f"generating {records:,} sample records into {out}/")
    gen = generate(out, records=records, seed=seed)
    say("loading the five sources")
    loads = load_folder(store, gen.out_dir)
    say("resolving persons and accounts")
    summary = Resolver(store).resolve(full=True)
    say("reconciling source counts")
    report = reconcile(store)
    ev = evaluate(store, gen.out_dir / "truth.csv")
    return DemoRun(out, loads, summary, report, ev, pick_examples(store))


def pick_examples(store: GraphStore) -> DemoExamples:
    """A record whose person spans the most sources, a merged pair inside it, a near miss."""
    best: tuple[int, str] | None = None
    after: str | None = None
    scanned = 0
    while scanned < 2000:
        page = store.list_entities(kind="person", after=after, limit=500)
        if not page:
            break
        members = store.members_of([e.id for e in page])
        for eid, keys in members.items():
            sources = len({k.partition(":")[0] for k in keys})
            if best is None or sources > best[0]:
                best = (sources, eid)
        scanned += len(page)
        after = page[-1].id
    if best is None:
        raise DemoRefused("the demo resolved no person entities")
    eid = best[1]
    keys = store.members_of([eid])[eid]
    edges = [e for e in store.matches_for(keys, decision=MATCH) if e.a in keys and e.b in keys]
    pair = (edges[0].a, edges[0].b) if edges else (keys[0], keys[-1])
    near = next(store.iter_matches(decision="near_miss", batch_size=100), None)
    rec = store.get_record(keys[0])
    assert rec is not None
    surname = str(rec.norm.get("last_name") or rec.norm.get("full_name") or rec.source_id)
    return DemoExamples(
        record=(rec.source, rec.source_id), entity_id=eid, pair=pair,
        near_miss=(near.a, near.b) if near else None, search=surname,
    )
