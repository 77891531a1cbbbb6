"""GraphStore.bulk_resolve, the bracket around a full resolution run's writes.

SQLite drops the secondary indexes of the tables a full run fills that are empty at the
start, and builds them at the end. These tests check that it changes nothing a caller can
see: the same entities, links and history as without it (a first full run, then an
incremental and a second full run), the same answers from readers inside it, and the
indexes back after a failure, after a process died inside it, and on reopen.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from graphstore.model import Entity, EntityEvent
from graphstore.resolution import Resolver
from graphstore.sqlite_store import SqliteStore
from graphstore.store import GraphStore
from loaders.generate import generate
from loaders.load import load_file, load_folder

from conftest import make_store

ROOT = Path(__file__).resolve().parent.parent
DEFERRED = {"member_of_entity", "entities_kind", "belongs_to_account", "child_of_parent", "aliases_entity", "events_entity"}


def _indexes(store: SqliteStore) -> set[tuple[str, str]]:
    return set(store._query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))


def _dir(path: Path) -> Path:
    path.mkdir()
    return path


def _names(store: SqliteStore) -> set[str]:
    return {name for name, _ in _indexes(store)}


def state(store: GraphStore) -> dict[str, Any]:
    """What resolution leaves behind, without times and run ids."""
    members = store.all_memberships()
    entity_ids = sorted(set(members.values()))
    persons_after: str | None = None
    entities: dict[str, tuple[str, object]] = {}
    while page := store.list_entities(after=persons_after, limit=1000):
        entities.update((e.id, (e.kind, e.attrs)) for e in page)
        persons_after = page[-1].id
    accounts = sorted(eid for eid, (kind, _) in entities.items() if kind == "account")
    events = [(e.entity_id, e.type, e.details, e.cause, e.actor, e.rule_version) for e in store.events()]
    matches = sorted((e.a, e.b, round(e.score, 9), e.decision) for e in store.iter_matches())
    return {
        "members": members,
        "entities": entities,
        "accounts_of": store.accounts_of(entity_ids),
        "parents_of": store.parents_of(accounts),
        "aliases": store.aliases_of(entity_ids + accounts),
        "events": events,
        "matches": matches,
    }


def _runs(store: GraphStore, data: Path, later: Path) -> list[dict[str, Any]]:
    """A first full run, an incremental one after one more file, then a full one again."""
    out = []
    load_folder(store, data)
    assert Resolver(store).resolve().mode == "full"
    out.append(state(store))
    load_file(store, "support", later)
    assert Resolver(store).resolve().mode == "incremental"
    out.append(state(store))
    Resolver(store).resolve(full=True)
    out.append(state(store))
    return out


def test_runs_with_the_bracket_equal_runs_without_it(
    store_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    generate(data, records=1500, seed=11)
    later = tmp_path / "support.csv"
    shutil.move(data / "support.csv", later)

    store = make_store(store_kind, _dir(tmp_path / "a"))
    seen: list[set[str]] = []
    if isinstance(store, SqliteStore):  # the bracket really drops them in the first run, and only then
        inner = SqliteStore.bulk_resolve

        def spying(self: SqliteStore):  # type: ignore[no-untyped-def]
            cm = inner(self)
            cm.__enter__()
            seen.append(_names(self))
            return _Exit(cm)

        monkeypatch.setattr(SqliteStore, "bulk_resolve", spying)
    with store:
        with_bracket = _runs(store, data, later)
        if isinstance(store, SqliteStore):
            fresh = make_store("sqlite", _dir(tmp_path / "fresh"))
            assert _indexes(store) == _indexes(fresh)  # type: ignore[arg-type]
            fresh.close()
            assert len(seen) == 2 and not seen[0] & DEFERRED
            assert seen[1] >= DEFERRED - {"aliases_entity", "child_of_parent"}  # tables not empty: kept
        store.wipe()
    monkeypatch.setattr(type(store), "bulk_resolve", GraphStore.bulk_resolve)
    with make_store(store_kind, _dir(tmp_path / "b")) as plain:
        without = _runs(plain, data, later)
    for a, b in zip(with_bracket, without):
        assert a == b
    assert with_bracket[0]["members"] and with_bracket[0]["accounts_of"] and with_bracket[0]["events"]


class _Exit:
    """A context manager that is already entered: exiting it exits `cm`."""

    def __init__(self, cm: Any) -> None:
        self.cm = cm

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> Any:
        return self.cm.__exit__(*exc)


def test_readers_inside_a_first_full_run_get_the_same_answers(tmp_path: Path) -> None:
    """Between the persons' writes and the accounts', lookups by entity scan their tables
    (their indexes are dropped) and still answer as they do after the run."""
    data = tmp_path / "data"
    generate(data, records=600, seed=5)
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqliteStore)
    load_folder(store, data)
    inside: dict[str, Any] = {}

    def progress(message: str) -> None:
        if message != "building accounts":
            return
        assert "member_of_entity" not in _names(store)
        persons = sorted(set(store.all_memberships().values()))

        def read() -> None:  # another thread: its own connection, as an API reader has
            inside["members"] = store.members_of(persons)
            inside["events"] = store.events(entity_ids=persons[:50])

        t = threading.Thread(target=read)
        t.start()
        t.join()
        inside["persons"] = persons

    Resolver(store).resolve(progress=progress)
    assert "member_of_entity" in _names(store)
    assert inside["members"] == store.members_of(inside["persons"])
    assert sum(len(m) for m in inside["members"].values()) == len(store.all_memberships())
    assert inside["events"] == [] and store.events(entity_ids=inside["persons"][:50])  # appended at the end
    store.close()


def test_only_the_indexes_of_empty_tables_are_dropped_and_nesting_does_nothing(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqliteStore)
    before = _indexes(store)
    store.upsert_entities([Entity("P-1", "person", {})])
    store.set_memberships({"crm:1": "P-1"})
    with store.bulk_resolve():
        dropped = {name for name, _ in before} - _names(store)
        assert dropped == DEFERRED - {"entities_kind", "member_of_entity"}
        with store.bulk_resolve():
            assert {name for name, _ in before} - _names(store) == dropped
        assert {name for name, _ in before} - _names(store) == dropped
        store.append_events([EntityEvent("P-1", "created")])
        store.set_account_links({"P-1": "A-1"})
        assert store.events(entity_ids=["P-1"])[0].type == "created" and store.persons_of(["A-1"]) == {"A-1": ["P-1"]}
    assert _indexes(store) == before
    store.close()


def test_a_failed_run_gets_its_indexes_back(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqliteStore)
    before = _indexes(store)
    with pytest.raises(RuntimeError, match="simulated"):
        with store.bulk_resolve():
            store.set_memberships({"crm:1": "P-1"})
            assert "member_of_entity" not in _names(store)
            raise RuntimeError("simulated failure")
    assert _indexes(store) == before
    assert store.members_of(["P-1"]) == {"P-1": ["crm:1"]}
    store.close()


_DIE_INSIDE = textwrap.dedent(
    """
    import os, sys
    from graphstore.sqlite_store import SqliteStore

    store = SqliteStore(sys.argv[1])
    block = store.bulk_resolve()
    block.__enter__()
    store.set_memberships({"crm:1": "P-1", "crm:2": "P-1"})
    os._exit(0)  # dies inside the block: no rebuild
    """
)


def test_indexes_left_dropped_by_a_died_process_come_back_on_reopen(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqliteStore)
    before = _indexes(store)
    store.close()
    path = tmp_path / "store.db"
    subprocess.run(
        [sys.executable, "-c", _DIE_INSIDE, str(path)], check=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    import sqlite3

    with sqlite3.connect(path) as raw:  # as the process left it
        left = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert not left & DEFERRED
    with SqliteStore(path) as reopened:
        assert _indexes(reopened) == before
        assert reopened.members_of(["P-1"]) == {"P-1": ["crm:1", "crm:2"]}
        plan = reopened._query("EXPLAIN QUERY PLAN SELECT record_key FROM member_of WHERE entity_id = ?", ("P-1",))
        assert any("member_of_entity" in str(row) for row in plan)


def test_a_block_whose_indexes_another_open_restored_ends_cleanly(tmp_path: Path) -> None:
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqliteStore)
    before = _indexes(store)
    with store.bulk_resolve():
        store.set_memberships({"crm:1": "P-1"})
        with SqliteStore(store.path) as other:  # a second process opening the file meanwhile
            assert _indexes(other) == before
        store.set_memberships({"crm:2": "P-1"})
    assert _indexes(store) == before
    assert store.members_of(["P-1"]) == {"P-1": ["crm:1", "crm:2"]}
    store.close()


def test_of_two_blocks_at_once_the_one_that_ends_builds_the_indexes(tmp_path: Path) -> None:
    """Two full runs start on one empty store: the first drops the indexes, the second finds
    them gone. The first then dies inside its block; the second's end builds them."""
    store = make_store("sqlite", tmp_path)
    assert isinstance(store, SqliteStore)
    before = _indexes(store)
    with SqliteStore(store.path) as second:  # opened before the drop (an open would restore them)
        first = store.bulk_resolve()
        first.__enter__()  # and never left: its process died
        assert not _names(store) & DEFERRED
        with second.bulk_resolve():
            second.set_memberships({"crm:1": "P-1"})
            assert not _names(second) & DEFERRED
        assert _indexes(second) == before
        assert second.members_of(["P-1"]) == {"P-1": ["crm:1"]}
    store.close()
