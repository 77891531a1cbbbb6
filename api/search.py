"""Free-text search: read the text as every kind of key it could be, look all up at once.

"ann@acme.com", "acme.com", "+1 415 555 0123", "Ann Lee", "0031x000001" and
"crm:0031x000001" all work. The text is normalized with the loaders' own rules (so a
search finds exactly what loading stored), turned into identifier keys, a name and a
source id, and looked up in three batched store calls, run concurrently. Hits are
grouped by entity, so a person with five matching records is one hit.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from graphstore.model import identifier_key, split_record_key
from loaders import normalize

from .context import Context
from .errors import bad_input

MAX_SEARCH_TEXT = 200
# Per lookup: a search for "gmail.com" must not pull 100k records into one request.
MAX_RECORDS_PER_LOOKUP = 1_000
_PHONE_CHARS = re.compile(r"^[+\d\s().\-/]+$")
_OPAQUE_KINDS = ("user_id", "device_id", "payment_entity")


@dataclass
class Query:
    """The lookups one search text turns into; `why` says which reading each came from."""

    identifiers: dict[str, str] = field(default_factory=dict)  # identifier key -> why
    name: str | None = None
    source_id: str | None = None
    record_key: str | None = None


@dataclass
class Hit:
    entity_id: str | None
    record_keys: list[str]
    matched_on: list[str]


def interpret(text: str) -> Query:
    """Every plausible reading of the search text; readings that fail to normalize drop out."""
    text = normalize.clean(text)
    if not text:
        raise bad_input("search text is empty")
    if len(text) > MAX_SEARCH_TEXT:
        raise bad_input(f"search text is longer than {MAX_SEARCH_TEXT} characters")
    q = Query(source_id=text)
    if "@" in text:
        try:
            q.identifiers[identifier_key("email", normalize.email(text))] = "email"
        except ValueError:
            pass
    elif "." in text and " " not in text:
        try:
            q.identifiers[identifier_key("domain", normalize.registrable_domain(text))] = "domain"
        except ValueError:
            pass
    if _PHONE_CHARS.match(text) and sum(ch.isdigit() for ch in text) >= 6:
        try:
            q.identifiers[identifier_key("phone", normalize.phone(text))] = "phone"
        except ValueError:
            pass
    opaque = normalize.opaque_id(text)
    if opaque and " " not in opaque:
        for kind in _OPAQUE_KINDS:
            q.identifiers.setdefault(identifier_key(kind, opaque), kind)
    if any(ch.isalpha() for ch in text) and "@" not in text:
        q.name = normalize.name(text)
    source, sep, _ = text.partition(":")
    if sep and source and " " not in source:
        try:
            split_record_key(text)
            q.record_key = text
        except ValueError:
            pass
    return q


async def search(context: Context, text: str) -> list[Hit]:
    q = interpret(text)
    gw = context.gateway
    idents = list(q.identifiers)
    carriers, by_name, by_sid, known = await asyncio.gather(
        gw.call(lambda s: s.records_with_identifiers(idents, limit=MAX_RECORDS_PER_LOOKUP)) if idents else _empty(),
        gw.call(lambda s: s.records_by_name([q.name], limit=MAX_RECORDS_PER_LOOKUP)) if q.name else _empty(),
        gw.call(lambda s: s.records_by_source_id([q.source_id])) if q.source_id else _empty(),
        context.loaders.record_known.load(q.record_key) if q.record_key else _false(),
    )
    why: dict[str, set[str]] = {}
    for ik, keys in carriers.items():
        for k in keys:
            why.setdefault(k, set()).add(q.identifiers[ik])
    for keys in by_name.values():
        for k in keys:
            why.setdefault(k, set()).add("name")
    for keys in by_sid.values():
        for k in keys[:MAX_RECORDS_PER_LOOKUP]:
            why.setdefault(k, set()).add("source_id")
    if known and q.record_key:
        why.setdefault(q.record_key, set()).add("record_key")
    if not why:
        return []
    owners = await context.loaders.entity_of_record.load_many(list(why))
    grouped: dict[str, list[str]] = {}
    loose: list[str] = []
    for key, owner in zip(why, owners):
        if owner is None:
            loose.append(key)
        else:
            grouped.setdefault(owner, []).append(key)
    hits = [
        Hit(eid, sorted(keys), sorted({w for k in keys for w in why[k]})) for eid, keys in sorted(grouped.items())
    ]
    hits += [Hit(None, [k], sorted(why[k])) for k in sorted(loose)]
    return hits


async def _empty() -> dict[str, list[str]]:
    return {}


async def _false() -> bool:
    return False
