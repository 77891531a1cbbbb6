"""Compact per-record views: only what matching needs, so 1M records fit in memory.

A full Record carries every original attribute; resolution needs the normalized
comparison fields and the identifier keys. Keeping just those (with interned strings)
is what lets a full run hold a million records well inside a few GiB.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from functools import lru_cache
from dataclasses import dataclass

from .model import Record
from .rules import Rules

_intern = sys.intern
_NAME_PARTS = frozenset({"first_name", "last_name", "full_name"})


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Accent-free form for blocking keys: García and Garcia must land in one block."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(slots=True)
class RecordView:
    key: str
    fields: dict[str, str]
    idents: tuple[str, ...]

    def values(self, part: str) -> tuple[str, ...]:
        """Values of a blocking part: a norm field, `first_initial`, or an identifier kind."""
        if part == "first_initial":
            first = fold(self.fields.get("first_name", ""))
            return (first[:1],) if first else ()
        if part in self.fields:
            v = self.fields[part]
            if part in _NAME_PARTS:
                v = fold(v)
            return (v,) if v else ()
        prefix = part + ":"
        return tuple(i[len(prefix):] for i in self.idents if i.startswith(prefix))


def needed_fields(rules: Rules) -> frozenset[str]:
    fields = {"first_name", "last_name", "full_name", rules.accounts.parent_attribute}
    for c in rules.comparisons:
        fields.update(c.fields)
    for k in rules.blocking.keys:
        fields.update(k.parts)
    return frozenset(fields)


def _view(key: str, norm: Mapping[str, Any], idents: Iterable[str], fields: frozenset[str]) -> RecordView:
    kept = {f: _intern(v if type(v) is str else str(v)) for f, v in norm.items() if v and f in fields}
    return RecordView(_intern(key), kept, tuple(sorted({_intern(i) for i in idents})))


def views_from_inputs(
    inputs: Iterable[tuple[str, Mapping[str, Any], Iterable[str]]], rules: Rules
) -> dict[str, RecordView]:
    """Views from `GraphStore.iter_match_inputs` rows: the full run's lean read path."""
    fields = needed_fields(rules)
    return {key: _view(key, norm, idents, fields) for key, norm, idents in inputs}


def make_views(records: Iterable[Record], rules: Rules) -> dict[str, RecordView]:
    """Views from whole records: what incremental runs and explanations already hold."""
    fields = needed_fields(rules)
    return {r.key: _view(r.key, r.norm, (i.key for i in r.identifiers), fields) for r in records}
