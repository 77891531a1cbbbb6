"""Incremental resolution gives the same entities as a full run, whatever the load order.

Hypothesis draws small graphs (records sharing emails, phones, devices, similar names),
a load order and a split into batches. Resolving after each batch (only the batch's
records, so the region logic is what runs) must end in the same partition as one full
run over everything. Guards are tightened so hubs and oversized blocks appear and
flip while the graph grows.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphstore.connect import open_store
from graphstore.model import IdentifierRef, Record
from graphstore.resolution import Resolver
from graphstore.rules import load_rules

NAMES = ["ann lee", "anne lee", "bob ray", "rob ray", "cy twu", "di fox", "dy fox"]
POOL = {
    "email": [f"e{i}@acme.com" for i in range(5)],
    "phone": [f"+44{i}" for i in range(4)],
    "device_id": [f"dev{i}" for i in range(3)],
    "domain": ["acme.com", "beta.io"],
    "payment_entity": ["PE1", "PE2"],
}

base = load_rules()
RULES = base.model_copy(
    update={
        "evidence": {
            **base.evidence,
            "email": base.evidence["email"].model_copy(update={"max_degree": 4}),
            "phone": base.evidence["phone"].model_copy(update={"max_degree": 3}),
            "device_id": base.evidence["device_id"].model_copy(update={"max_degree": 3}),
        },
        "blocking": base.blocking.model_copy(update={"max_block_size": 4}),
    }
)


@st.composite
def records(draw: st.DrawFn) -> list[Record]:
    n = draw(st.integers(min_value=2, max_value=14))
    out = []
    for i in range(n):
        name = draw(st.sampled_from(NAMES))
        first, _, last = name.partition(" ")
        idents = []
        for kind, values in POOL.items():
            if draw(st.booleans()):
                idents.append(IdentifierRef(kind, draw(st.sampled_from(values)), kind))
        out.append(
            Record(
                source=draw(st.sampled_from(["crm", "billing", "product"])), source_id=str(i),
                norm={"first_name": first, "last_name": last, "full_name": name,
                      "postcode": draw(st.sampled_from(["", "AB1", "CD2"]))},
                identifiers=idents,
            )
        )
    return out


def partition(store) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    groups: dict[str, set[str]] = {}
    for rk, eid in store.all_memberships().items():
        groups.setdefault(eid, set()).add(rk)
    return {frozenset(g) for g in groups.values()}


def account_partition(store) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    persons = store.all_memberships()
    acct = store.accounts_of(set(persons.values()))
    groups: dict[str, set[str]] = {}
    for rk, pid in persons.items():
        if pid in acct:
            groups.setdefault(acct[pid], set()).add(rk)
    return {frozenset(g) for g in groups.values()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), recs=records())
def test_incremental_matches_full(data: st.DataObject, recs: list[Record]) -> None:
    order = data.draw(st.permutations(recs))
    cuts = sorted(data.draw(st.sets(st.integers(min_value=1, max_value=len(recs) - 1), max_size=4)))
    batches = [order[i:j] for i, j in zip([0, *cuts], [*cuts, len(order)])]
    with tempfile.TemporaryDirectory() as d:
        inc = open_store(f"sqlite:///{Path(d) / 'inc.db'}")
        r = Resolver(inc, RULES)
        for batch in batches:
            inc.upsert_records(batch)
            r.resolve(record_keys=[x.key for x in batch])
        full = open_store(f"sqlite:///{Path(d) / 'full.db'}")
        full.upsert_records(recs)
        Resolver(full, RULES).resolve(full=True)
        assert partition(inc) == partition(full)
        assert account_partition(inc) == account_partition(full)
        inc.close()
        full.close()
