"""Fixtures shared by the suite: a fresh store of each backend.

The Neo4j half connects to NEO4J_URI (default bolt://127.0.0.1:7687) with
NEO4J_USER/NEO4J_PASSWORD, as `scripts/neo4j env` prints them. Locally it skips when
no server answers; under CI=true an unreachable server fails the test instead, so a
green CI run always means the Neo4j backend really ran.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from pathlib import Path

import pytest

from graphstore.connect import open_store
from graphstore.store import GraphStore, StoreUnavailable

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_neo4j_problem: str | None = None


def neo4j_uri() -> str:
    return os.environ.get("NEO4J_URI", "bolt://127.0.0.1:7687")


def _open_neo4j() -> GraphStore:
    global _neo4j_problem
    if _neo4j_problem is not None:
        _skip_or_fail(_neo4j_problem)
    try:
        return open_store(neo4j_uri())
    except StoreUnavailable as exc:
        _neo4j_problem = str(exc)
        _skip_or_fail(_neo4j_problem)
        raise


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true and Neo4j is required: {reason}", pytrace=False)
    pytest.skip(f"no Neo4j server: {reason}")


def make_store(kind: str, tmp_path: Path) -> GraphStore:
    if kind == "sqlite":
        return open_store(f"sqlite:///{tmp_path / 'store.db'}")
    store = _open_neo4j()
    store.wipe()
    return store


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store(store_kind: str, tmp_path: Path) -> Iterator[GraphStore]:
    s = make_store(store_kind, tmp_path)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    s = make_store("sqlite", tmp_path)
    try:
        yield s
    finally:
        s.close()


_backend_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count outcomes per backend, so a run shows the Neo4j half really ran."""
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    backend = "neo4j" if "neo4j" in report.keywords else "other"
    counts = _backend_outcomes.setdefault(backend, {"passed": 0, "failed": 0, "skipped": 0})
    counts[report.outcome] = counts.get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    neo = _backend_outcomes.get("neo4j")
    if neo:
        terminalreporter.write_line(
            f"Neo4j backend ({neo4j_uri()}): {neo['passed']} passed, {neo['failed']} failed, {neo['skipped']} skipped"
        )
