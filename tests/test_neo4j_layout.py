"""A Neo4j database written in the schema-1 record layout (a property per value, a `field`
on each HAS link) is refused with one line rather than misread; once it holds no such
record it is simply marked current. Runs on a real server (the Neo4j half of the suite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from graphstore.connect import open_store
from graphstore.neo4j_store import SCHEMA_VERSION, SCHEMA_VERSION_KEY, Neo4jStore
from graphstore.store import StoreUnavailable
from tests.conftest import make_store, neo4j_uri

pytestmark = pytest.mark.neo4j

# How a schema-1 loader stored a record (test fixture only: the product never writes this).
LEGACY_RECORD = (
    "CREATE (:Record {key: $key, source: 'crm', source_id: '1', attrs: '{}', norm: '{}',"
    " content_hash: 'h', loaded_at: '2026-01-01T00:00:00+00:00'})"
)


@pytest.fixture
def neo4j(tmp_path: Path) -> Iterator[Neo4jStore]:
    store = make_store("neo4j", tmp_path)
    assert isinstance(store, Neo4jStore)
    try:
        yield store
    finally:
        store.wipe()
        store.set_meta(SCHEMA_VERSION_KEY, SCHEMA_VERSION)
        store.close()


def test_a_schema_1_database_is_refused_in_one_line_then_accepted_once_emptied(neo4j: Neo4jStore) -> None:
    neo4j.set_meta(SCHEMA_VERSION_KEY, "1")
    neo4j.driver.execute_query(LEGACY_RECORD, key="crm:1")
    with pytest.raises(StoreUnavailable) as info:
        open_store(neo4j_uri())
    message = str(info.value)
    assert "\n" not in message and "schema version 1" in message and "empty database" in message

    neo4j.wipe()  # keeps the meta node: still version 1, but no legacy record left
    again = open_store(neo4j_uri())
    try:
        assert again.get_meta(SCHEMA_VERSION_KEY) == SCHEMA_VERSION
    finally:
        again.close()
