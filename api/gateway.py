"""The API's one door to graphstore: the store and the resolution facade.

Opened once by the app's lifespan, shared by all requests. It exists for three
guarantees the resolvers should not have to think about:

- the server starts, and keeps answering (`STORE_UNAVAILABLE`), while the store is
  down, and picks the store up by itself once it is back: opening is retried, at most
  once per `retry_every` seconds, on the next request that needs it;
- blocking store calls run off the event loop (a bounded thread pool), so one slow
  query does not stall every other request; the embedded store may run inline, where
  a thread hop would cost more than the query;
- steward overrides (which re-resolve a component) run one at a time per process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from graphstore.connect import open_store
from graphstore.resolution import Resolver
from graphstore.rules import Rules, load_rules
from graphstore.store import GraphStore, StoreError, StoreUnavailable
from graphstore.survivorship import Survivorship, load_survivorship

T = TypeVar("T")
log = logging.getLogger("entitystore.api")


class StoreGateway:
    def __init__(
        self,
        source: str | GraphStore,
        rules: Rules | None = None,
        inline: bool | None = None,
        retry_every: float = 1.0,
        threads: int = 16,
        survivorship: Survivorship | None = None,
    ) -> None:
        self._uri = source if isinstance(source, str) else None
        self._store: GraphStore | None = None if isinstance(source, str) else source
        self._owns_store = isinstance(source, str)
        self.rules = rules or load_rules()
        self.survivorship = survivorship or load_survivorship()
        self._inline = inline
        self.retry_every = retry_every
        self._threads = threads
        self._limiter: anyio.CapacityLimiter | None = None
        self._last_error: StoreUnavailable | None = None
        self._last_attempt = 0.0
        self._open_lock = threading.Lock()
        self._resolver: Resolver | None = None
        self.write_lock = asyncio.Lock()

    # -- lifecycle ---------------------------------------------------------------------
    def open(self) -> None:
        """Try to open the store now; a failure is remembered, not raised (we retry later)."""
        try:
            self.store()
        except StoreUnavailable as exc:
            log.warning("%s; serving STORE_UNAVAILABLE until it answers", exc)

    def close(self) -> None:
        if self._store is not None and self._owns_store:
            self._store.close()
            self._store = None

    def store(self) -> GraphStore:
        """The open store, opening it if needed; raises StoreUnavailable while it cannot be."""
        if self._store is not None:
            return self._store
        with self._open_lock:
            if self._store is not None:
                return self._store
            assert self._uri is not None
            now = time.monotonic()
            if self._last_error is not None and now - self._last_attempt < self.retry_every:
                raise self._last_error
            self._last_attempt = now
            try:
                self._store = open_store(self._uri)
            except StoreUnavailable as exc:
                self._last_error = exc
                raise
            except StoreError as exc:  # a URI we cannot use at all: same answer to clients
                self._last_error = StoreUnavailable(self._uri, str(exc))
                raise self._last_error from None
            self._last_error = None
            self._resolver = None
            log.info("store %s open", self._store.info().uri)
            return self._store

    @property
    def inline(self) -> bool:
        if self._inline is None:
            store = self._store
            if store is None:
                return False
            self._inline = store.info().backend == "sqlite"
        return self._inline

    def resolver(self) -> Resolver:
        store = self.store()
        if self._resolver is None or self._resolver.store is not store:
            self._resolver = Resolver(store, self.rules)
        return self._resolver

    # -- calls -----------------------------------------------------------------------
    async def call(self, fn: Callable[[GraphStore], T]) -> T:
        """Run `fn(store)`: inline for the embedded store, else on a worker thread."""
        if self._store is None:
            await self._run(self.store)
        store = self.store()
        if self.inline:
            return fn(store)
        return await self._run(lambda: fn(store))

    async def call_resolver(self, fn: Callable[[Resolver], T]) -> T:
        """Run a resolver operation that writes, one at a time, always off the loop."""
        async with self.write_lock:
            resolver = await self._run(self.resolver)
            return await self._run(lambda: fn(resolver))

    async def _run(self, fn: Callable[[], T]) -> T:
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self._threads)
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter)

    async def ping(self) -> None:
        """Raises StoreUnavailable unless the store answers a round trip."""
        await self._run(lambda: self.store().ping())
