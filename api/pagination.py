"""Relay cursor connections, with a page-size ceiling and friendly cursor errors.

Two kinds, both built from `strawberry.relay` pieces (Connection, Edge, PageInfo):

- `Page`: strawberry's `ListConnection` for lists a request already holds (an
  entity's members, search hits, an identifier's records); offset cursors.
- keyset pages (`keyset_page`) for the big, growing collections (all entities, the
  audit log): the cursor carries the last id/seq seen and the store seeks past it, so
  page 10,000 costs what page 1 does and rows added meanwhile are not skipped.

Every page is at most `MAX_PAGE` items; asking for more is `LIMIT_EXCEEDED`, a
malformed cursor is `BAD_INPUT`.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.relay.types import NodeType
from strawberry.relay.utils import from_base64, to_base64

from .errors import bad_input, limit_exceeded

MAX_PAGE = 100
DEFAULT_PAGE = 20

N = TypeVar("N")


def check_page(first: int | None, last: int | None = None) -> int:
    """The page size to use; refuses negative or oversized requests."""
    for name, value in (("first", first), ("last", last)):
        if value is None:
            continue
        if value < 0:
            raise bad_input(f"argument {name!r} must not be negative")
        if value > MAX_PAGE:
            raise limit_exceeded(f"argument {name!r} is {value}; pages hold at most {MAX_PAGE} items")
    return DEFAULT_PAGE if first is None else first


def decode_cursor(cursor: str | None, prefix: str) -> str | None:
    if not cursor:
        return None
    try:
        kind, value = from_base64(cursor)
    except (ValueError, binascii.Error, TypeError, UnicodeDecodeError):
        raise bad_input("argument 'after' is not a cursor this API issued") from None
    if kind != prefix:
        raise bad_input("argument 'after' is a cursor of a different list")
    return value


@strawberry.type(name="Connection", description="A page of items with Relay cursors.")
class Page(relay.ListConnection[NodeType]):
    @classmethod
    def resolve_connection(  # type: ignore[override]
        cls,
        nodes: Any,
        *,
        info: strawberry.Info,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ) -> Any:
        check_page(first, last)
        if first is None and last is None:
            first = DEFAULT_PAGE
        for cursor in (after, before):
            offset = decode_cursor(cursor, relay.types.PREFIX)
            if offset is not None and not offset.isdigit():
                raise bad_input("cursor does not point into this list")
        return super().resolve_connection(
            nodes, info=info, before=before, after=after, first=first, last=last, max_results=MAX_PAGE, **kwargs
        )


def keyset_page(
    connection: type[Any],
    rows: Sequence[N],
    size: int,
    prefix: str,
    key: Callable[[N], str],
    node: Callable[[N], Any],
    had_cursor: bool,
) -> Any:
    """Build a keyset Connection from `rows`, fetched as `size + 1` to learn if more follow."""
    more = len(rows) > size
    rows = rows[:size]
    edges = [relay.Edge(cursor=to_base64(prefix, key(r)), node=node(r)) for r in rows]
    return connection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=more,
            has_previous_page=had_cursor,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )
