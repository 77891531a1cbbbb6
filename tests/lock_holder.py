"""A transaction the tests hold open on the real Neo4j server, to make a store's write wait
for a lock and then deadlock on purpose: the only way to see the driver retry a managed
transaction (`session.execute_write`) without mocking anything.

How a test forces a retry, deterministically:
1. `LockHolder(store)` begins a transaction that holds many locks (it creates `ballast`
   scratch nodes): Neo4j's lock manager (Forseti, strategy ABORT_YOUNG) aborts the
   transaction of a deadlock cycle that holds the fewest locks, whichever side closes the
   cycle, so the store's transaction is the one aborted (checked on 2026.08 Community);
2. `hold_counter()` takes the write lock of the load counter, which `records_write` takes
   last: the store's transaction then runs all of its statement and waits there, holding
   the locks of what it wrote (new record and identifier keys, updated records);
3. `wait_until_blocking()` waits until the server reports that transaction as blocked by
   this one (`SHOW TRANSACTIONS`: a server-side state, not a guess with a sleep);
4. `start(work)` makes this transaction ask for one of those locks, on a thread of its own:
   the wait-for cycle is closed, the server aborts the store's transaction with
   `Neo.TransientError.Transaction.DeadlockDetected`, and this one gets its lock;
5. `finish()` waits for that and commits or rolls back; the driver runs the store's
   transaction function again (after its retry delay, ~1 s) and it goes through.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from neo4j import Transaction

from graphstore.neo4j_store import LOAD_SEQ, Neo4jStore

_WAIT_S = 20.0  # a generous bound: the states waited for come within milliseconds


class LockHolder:
    """One explicit transaction on its own session, tagged so `SHOW TRANSACTIONS` finds it."""

    def __init__(self, store: Neo4jStore, ballast: int = 20_000) -> None:
        self._store = store
        self._tag = uuid.uuid4().hex
        self._session = store.driver.session(database=store._database)
        self.tx: Transaction = self._session.begin_transaction(metadata={"lock_holder": self._tag})
        self.tx.run("UNWIND range(1, $n) AS i CREATE (:LockBallast)", n=ballast).consume()
        me = next(r for r in self._transactions() if (r["meta"] or {}).get("lock_holder") == self._tag)
        self.id = me["id"]
        assert me["locks"] >= ballast, me  # each new node is locked to commit
        self._thread: threading.Thread | None = None
        self._outcome: list[Any] = []

    def _transactions(self) -> list[dict[str, Any]]:
        return self._store.driver.execute_query(
            "SHOW TRANSACTIONS YIELD transactionId AS id, status, metaData AS meta, currentQuery AS query, "
            "activeLockCount AS locks, parameters AS params RETURN id, status, meta, query, locks, params",
            database_=self._store._database,
        ).records  # type: ignore[return-value]

    def hold_counter(self, name: str = LOAD_SEQ) -> None:
        """Take the write lock of a load/event counter (reserving nothing) until the end."""
        Neo4jStore._reserve(self.tx, name, 0)  # type: ignore[arg-type]

    def waiting(self) -> list[dict[str, Any]]:
        """The other transactions the server reports as waiting for a lock, each with `by`: the
        transactions it waits behind, as the server lists them: the holder of the lock it wants
        and, when that one waits too, what it waits for (a writer waiting for an identifier
        another writer created, which waits at this one's counter, lists both; checked on
        2026.08: only this one's id for a writer waiting at the counter itself)."""
        out = []
        for r in self._transactions():
            if r["status"].startswith("Blocked by: ["):
                out.append({**dict(r), "by": r["status"].removeprefix("Blocked by: [").rstrip("]").split(", ")})
        return out

    def blocked(self) -> list[dict[str, Any]]:
        """The transactions the server reports as waiting behind this one (directly or not)."""
        return [r for r in self.waiting() if self.id in r["by"]]

    def wait_until_blocking(self, n: int = 1) -> list[dict[str, Any]]:
        """Return once at least `n` transactions wait behind this one (polling the server)."""
        return self.wait_until(lambda: len(found := self.blocked()) >= n and found, f"{n} blocked by {self.id}")

    def wait_until(self, check: Callable[[], Any], what: str) -> Any:
        """Poll `check()` (a read of the server's state) until it returns something true."""
        deadline = time.monotonic() + _WAIT_S
        while not (found := check()):
            if time.monotonic() > deadline:
                raise AssertionError(f"not reached after {_WAIT_S}s: {what}; transactions: {self._transactions()}")
            time.sleep(0.005)
        return found

    def start(self, work: Callable[[Transaction], Any]) -> None:
        """Run `work(tx)` in this transaction on a thread: it may wait for a lock (and close a
        deadlock cycle) while the test goes on."""

        def run() -> None:
            try:
                self._outcome.append(work(self.tx))
            except BaseException as exc:  # re-raised by finish()
                self._outcome.append(exc)

        self._thread = threading.Thread(target=run, name="lock-holder")
        self._thread.start()

    def finish(self, commit: bool = False) -> Any:
        """Wait for `start`'s work, then commit or roll back; the work's result (or error)."""
        try:
            if self._thread is not None:
                self._thread.join(_WAIT_S)
                assert not self._thread.is_alive(), "the lock holder's work is still waiting"
                outcome = self._outcome[0]
                if isinstance(outcome, BaseException):
                    raise outcome
            else:
                outcome = None
            if commit:
                self.tx.run("MATCH (b:LockBallast) DELETE b").consume()
                self.tx.commit()
            return outcome
        finally:
            self.close()

    def close(self) -> None:
        if not self.tx.closed():
            self.tx.rollback()
        self._session.close()


class Attempts:
    """Counts the calls of a store's transaction function (each driver attempt calls it once):
    installed on the store instance in place of the function, which it calls unchanged."""

    def __init__(self, store: Neo4jStore, name: str = "_upsert_tx") -> None:
        self.calls: list[tuple[Any, ...]] = []  # the arguments after tx, one entry per attempt
        inner = getattr(store, name)

        def counted(tx: Any, *args: Any) -> Any:
            self.calls.append(args)
            return inner(tx, *args)

        setattr(store, name, counted)

    def __len__(self) -> int:
        return len(self.calls)
