"""A Neo4j database written in the schema-1 record layout (a property per value, a `field`
on each HAS link, one link per field) is rewritten into the body layout when it is opened,
losing nothing; one from schema 1 or 2 (identifier degree stored as an indexed property) loses
the property and the index, and its degrees still read right (counted from HAS links); a
database from a newer schema is refused in one line rather than misread. Runs on a real
server (the Neo4j half of the suite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from graphstore import neo4j_store
from graphstore.connect import open_store
from graphstore.model import Identifier, IdentifierRef, Record
from graphstore.neo4j_store import SCHEMA_VERSION, SCHEMA_VERSION_KEY, Neo4jStore
from graphstore.store import StoreUnavailable
from tests.conftest import make_store, neo4j_uri

pytestmark = pytest.mark.neo4j

# How schema 1 stored two records sharing an email (Ann's under two fields), a device, and a
# stub (test fixture only: the product no longer writes this layout).
SCHEMA_1_RECORDS = """
CREATE (a:Record {key: 'crm:1', source: 'crm', source_id: '1', attrs: '{"name": "Ann Lee"}',
                  norm: '{"full_name": "ann lee"}', updated_at: '2026-01-01T00:00:00+00:00',
                  loaded_at: '2026-01-02T00:00:00+00:00', batch_id: 'b1', content_hash: 'h1',
                  history: '[{"content_hash": "h0", "loaded_at": "2025-12-01T00:00:00+00:00"}]',
                  full_name: 'ann lee', load_seq: 1})
CREATE (b:Record {key: 'shop:7', source: 'shop', source_id: '7', attrs: '{}', norm: '{}',
                  loaded_at: '2026-01-02T00:00:00+00:00', content_hash: 'h2', load_seq: 1})
CREATE (e:Identifier {key: 'email:ann@x.com', kind: 'email', value: 'ann@x.com', degree: 2})
CREATE (d:Identifier {key: 'device_id:d1', kind: 'device_id', value: 'd1', degree: 1})
CREATE (a)-[:HAS {field: 'email'}]->(e), (a)-[:HAS {field: 'work_email'}]->(e),
       (b)-[:HAS {field: 'email'}]->(e), (b)-[:HAS {field: 'device'}]->(d)
CREATE (:Record:RecordStub {key: 'crm:9'})
"""


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


def _stored_degrees(store: Neo4jStore) -> int:
    """Identifiers that still carry a `degree` property (schemas 1 and 2 kept one)."""
    return store.driver.execute_query("MATCH (i:Identifier) WHERE i.degree IS NOT NULL RETURN count(i) AS n").records[0]["n"]


def _degree_index(store: Neo4jStore) -> list[str]:
    rows = store.driver.execute_query("SHOW INDEXES YIELD name WHERE name = 'identifier_degree' RETURN name").records
    return [row["name"] for row in rows]


def _has_links(store: Neo4jStore) -> list[tuple[str, str, str | None]]:
    rows = store.driver.execute_query(
        "MATCH (r:Record)-[h:HAS]->(i:Identifier) RETURN r.key AS r, i.key AS i, h.field AS f ORDER BY r, i"
    ).records
    return [(row["r"], row["i"], row["f"]) for row in rows]


def test_a_schema_1_database_is_upgraded_on_open_and_loses_nothing(neo4j: Neo4jStore) -> None:
    neo4j.set_meta(SCHEMA_VERSION_KEY, "1")
    neo4j.driver.execute_query(SCHEMA_1_RECORDS)
    upgraded = open_store(neo4j_uri())
    try:
        assert upgraded.get_meta(SCHEMA_VERSION_KEY) == SCHEMA_VERSION
        records = upgraded.get_records(["crm:1", "shop:7", "crm:9"])
        assert set(records) == {"crm:1", "shop:7"}  # the stub stays a stub
        ann = records["crm:1"]
        assert (ann.attrs, ann.norm, ann.batch_id, ann.content_hash) == ({"name": "Ann Lee"}, {"full_name": "ann lee"}, "b1", "h1")
        assert (ann.updated_at, ann.loaded_at) == ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00")
        assert ann.history == [{"content_hash": "h0", "loaded_at": "2025-12-01T00:00:00+00:00"}]
        assert ann.identifiers == [IdentifierRef("email", "ann@x.com", "email"), IdentifierRef("email", "ann@x.com", "work_email")]
        assert records["shop:7"].identifiers == [IdentifierRef("device_id", "d1", "device"), IdentifierRef("email", "ann@x.com", "email")]
        assert records["shop:7"].history == []
        # one link per distinct identifier, no field on it; degrees count records, as before
        assert _has_links(neo4j) == [("crm:1", "email:ann@x.com", None), ("shop:7", "device_id:d1", None),
                                     ("shop:7", "email:ann@x.com", None)]
        assert {k: i.degree for k, i in upgraded.get_identifiers(["email:ann@x.com", "device_id:d1"]).items()} == {
            "email:ann@x.com": 2, "device_id:d1": 1}
        assert upgraded.records_with_identifiers(["email:ann@x.com"])["email:ann@x.com"] == ["crm:1", "shop:7"]
        assert upgraded.records_by_name(["ann lee"]) == {"ann lee": ["crm:1"]}
        leftovers = neo4j.driver.execute_query(
            "MATCH (r:Record) WHERE r.attrs IS NOT NULL OR r.norm IS NOT NULL OR r.loaded_at IS NOT NULL RETURN count(r) AS n"
        ).records[0]["n"]
        assert leftovers == 0
        assert _stored_degrees(neo4j) == 0  # schema 3: degrees are counted, not stored
    finally:
        upgraded.close()


def test_an_upgrade_that_stopped_half_way_is_finished_by_the_next_open(neo4j: Neo4jStore) -> None:
    neo4j.set_meta(SCHEMA_VERSION_KEY, "1")
    neo4j.driver.execute_query(SCHEMA_1_RECORDS)
    first = neo4j.driver.execute_query("MATCH (r:Record {key: 'crm:1'}) RETURN r {.*} AS p").records[0]["p"]
    # as if a process had rewritten the first page and died before marking the version
    body = ('{"attrs": {"name": "Ann Lee"}, "norm": {"full_name": "ann lee"}, "identifiers": [["email", "ann@x.com",'
            ' "email"], ["email", "ann@x.com", "work_email"]], "updated_at": null, "loaded_at": null, "batch_id": "b1"}')
    neo4j.driver.execute_query("MATCH (r:Record {key: 'crm:1'}) SET r.body = $body REMOVE r.attrs, r.norm", body=body)
    again = open_store(neo4j_uri())
    try:
        assert again.get_meta(SCHEMA_VERSION_KEY) == SCHEMA_VERSION
        records = again.get_records(["crm:1", "shop:7"])
        assert records["crm:1"].attrs == {"name": "Ann Lee"} and records["crm:1"].content_hash == first["content_hash"]
        assert records["shop:7"].identifiers == [IdentifierRef("device_id", "d1", "device"), IdentifierRef("email", "ann@x.com", "email")]
    finally:
        again.close()


def test_a_database_from_a_newer_schema_is_refused_in_one_line(neo4j: Neo4jStore) -> None:
    neo4j.set_meta(SCHEMA_VERSION_KEY, "99")
    with pytest.raises(StoreUnavailable) as info:
        open_store(neo4j_uri())
    message = str(info.value)
    assert "\n" not in message and "schema version 99" in message and "upgrade entitystore" in message


def _body(identifiers: list[list[str]]) -> str:
    return ('{"attrs":{},"norm":{},"identifiers":' + json.dumps(identifiers)
            + ',"updated_at":null,"loaded_at":"2026-01-02T00:00:00+00:00","batch_id":null}')


# How schema 2 stored three records: bodies, one HAS link per distinct identifier, and each
# identifier's degree as a property under the `identifier_degree` index (test fixture only).
SCHEMA_2_INDEX = "CREATE INDEX identifier_degree IF NOT EXISTS FOR (n:Identifier) ON (n.degree)"
SCHEMA_2_GRAPH = """
CREATE (a:Record {key: 'crm:1', source: 'crm', source_id: '1', content_hash: 'h1', load_seq: 1, body: $a})
CREATE (b:Record {key: 'shop:7', source: 'shop', source_id: '7', content_hash: 'h2', load_seq: 1, body: $b})
CREATE (c:Record {key: 'web:3', source: 'web', source_id: '3', content_hash: 'h3', load_seq: 1, body: $c})
CREATE (e:Identifier {key: 'email:ann@x.com', kind: 'email', value: 'ann@x.com', degree: 3})
CREATE (d:Identifier {key: 'device_id:d1', kind: 'device_id', value: 'd1', degree: 1})
CREATE (a)-[:HAS]->(e), (b)-[:HAS]->(e), (c)-[:HAS]->(e), (b)-[:HAS]->(d)
"""


def test_a_schema_2_database_loses_its_stored_degrees_and_still_reads_them(
    neo4j: Neo4jStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    neo4j.set_meta(SCHEMA_VERSION_KEY, "2")
    neo4j.driver.execute_query(SCHEMA_2_INDEX)
    neo4j.driver.execute_query(
        SCHEMA_2_GRAPH,
        a=_body([["email", "ann@x.com", "email"]]),
        b=_body([["device_id", "d1", "device"], ["email", "ann@x.com", "email"]]),
        c=_body([["email", "ann@x.com", "email"]]),
    )
    assert _degree_index(neo4j) == ["identifier_degree"] and _stored_degrees(neo4j) == 2
    monkeypatch.setattr(neo4j_store, "UPGRADE_BATCH", 1)  # one identifier per inner transaction
    upgraded = open_store(neo4j_uri())
    try:
        assert upgraded.get_meta(SCHEMA_VERSION_KEY) == SCHEMA_VERSION == "3"
        assert _degree_index(neo4j) == [] and _stored_degrees(neo4j) == 0
        email, device = Identifier("email", "ann@x.com", 3), Identifier("device_id", "d1", 1)
        assert upgraded.get_identifiers([email.key, device.key]) == {email.key: email, device.key: device}
        assert upgraded.identifiers_of_records(["shop:7"]) == {"shop:7": [device, email]}
        assert upgraded.records_and_identifiers(["crm:1"])[1] == {"crm:1": [email]}
        assert upgraded.hub_identifiers(min_degree=2) == [email]
        # writes keep the counted degree right: a record moving off the email lowers it, and
        # the device's last record moving off deletes the device node
        upgraded.upsert_records([Record(source="shop", source_id="7", identifiers=[IdentifierRef("phone", "+4412", "phone")])])
        got = upgraded.get_identifiers([email.key, device.key, "phone:+4412"])
        assert {k: i.degree for k, i in got.items()} == {email.key: 2, "phone:+4412": 1}
        assert _stored_degrees(neo4j) == 0  # new identifiers get no property either
    finally:
        upgraded.close()
