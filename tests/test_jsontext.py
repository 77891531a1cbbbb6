"""jsontext: the JSON text both stores keep reads back as the value written, at any size."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from graphstore import jsontext

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),  # unbounded: orjson alone reads those beyond 64 bits as floats
    st.integers(min_value=-(2**200), max_value=2**200),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.from_regex(r"[0-9]{15,30}", fullmatch=True),  # long digit runs inside strings
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5))


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (1 and 1.0 differ; -0.0 and 0.0 do not)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_loads_reads_back_what_dumps_wrote(value: Any) -> None:
    text = jsontext.dumps(value)
    assert _same(jsontext.loads(text), value)
    assert _same(jsontext.loads(text.encode()), value)
    assert _same(jsontext.loads(text), json.loads(text))  # the stdlib's reading, exactly


def test_integers_beyond_64_bits_are_not_floats() -> None:
    for n in (2**64, 2**64 + 1, -(2**63) - 1, 12345678901234567890123):
        assert jsontext.loads(f'{{"id": {n}}}') == {"id": n}
        assert type(jsontext.loads(str(n))) is int
    assert jsontext.loads("18446744073709551615") == 2**64 - 1  # within orjson's range
