"""Group commit: the writes of sends in flight at the same moment, made durable together.

A commit (an fsync) blocks the event loop, so committing each write as it comes would leave the
other sends idle behind every one; committing only whole batches would leave each outcome
waiting on the slowest answer. This sits between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Callable, Iterator

from sync.store import Store, TransitionError
from sync.store.db import StoreError
from sync.store.db import write as db_write

Write = Callable[[], object]


class GroupCommit:
    """Writes from sends in flight at the same moment, committed together: each caller waits
    until its own write is durable. A send marks itself `sending` and records its outcome through
    this (see sync.open311.sending), and nothing waits for a whole batch.

    The writes wait until every lane (see `lane`) is held up by one (`wait_for`), which is when
    nothing else could happen anyway, or at most `WAIT` seconds, so an answer slow to come never
    holds the others' writes back for long. An outcome holds no lane up. Writes are committed in
    the order they came, so an outcome is never durable after the mark of the send that follows
    it in its lane."""

    WAIT = 0.002

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[Write, asyncio.Future[object]]] = []
        self._lanes = 0
        self._waiting = 0  # sends held up until their write is committed
        self._timer: asyncio.Handle | None = None

    def __call__(self, write: Write) -> asyncio.Future[object]:
        """Queue `write`; the future is done once it is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._pending.append((write, future))
        self._schedule(loop)
        return future

    async def wait_for(self, written: asyncio.Future[object]) -> None:
        """Wait, holding up this lane, for a write queued earlier (a `sending` mark)."""
        if not written.done():
            self._waiting += 1
            self._schedule(asyncio.get_running_loop())
        await written

    @contextlib.contextmanager
    def lane(self) -> Iterator[None]:
        """A lane of sends under way, whose writes the others' may wait for."""
        self._lanes += 1
        try:
            yield
        finally:
            self._lanes -= 1
            if self._pending:
                self._schedule(asyncio.get_running_loop())

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._waiting >= self._lanes:  # every send is held up by a commit: now
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_soon(self._flush)
        elif self._timer is None:
            self._timer = loop.call_later(self.WAIT, self._flush)

    def _flush(self) -> None:
        self._timer = None
        pending, self._pending, self._waiting = self._pending, [], 0
        if not pending:
            return
        results: list[tuple[asyncio.Future[object], object, BaseException | None]] = []
        try:
            with db_write(self.store.db):
                for write, future in pending:
                    try:  # each store method is whole or not at all (a savepoint of its own)
                        results.append((future, write(), None))
                    except (TransitionError, StoreError) as error:
                        results.append((future, None, error))
        except StoreError as failure:  # the commit itself failed: none of them is written
            results = [(future, None, failure) for _, future in pending]
        for future, value, problem in results:
            if future.cancelled():
                continue
            if problem is None:
                future.set_result(value)
            else:
                future.set_exception(problem)
