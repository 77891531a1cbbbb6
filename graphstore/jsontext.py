"""JSON text for store columns and properties (attributes, evidence, history, details).

orjson encodes a million match edges' evidence in about a fifth of the stdlib's time; the
stdlib is kept for what orjson refuses (integers beyond 64 bits). Keys are sorted so the
same value is always the same text.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

loads = orjson.loads


def dumpb(value: Any) -> bytes:
    """The JSON text as UTF-8 bytes (what hashing takes, with no decode/encode round trip)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")


def dumps(value: Any) -> str:
    return dumpb(value).decode()
