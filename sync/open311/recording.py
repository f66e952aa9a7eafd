"""Each send's outcome recorded with the outbox event that says so, through the group commit,
and said (logged, counted) only once it is durable: a report never counts what a full disk lost.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Callable, Literal

from sync import reference as reference_module
from sync.open311.commit import GroupCommit, Write
from sync.store import Claimed, Store, TransitionError
from sync.store.db import StoreError

#: The worker's own log, which operators (and tests) follow.
log = logging.getLogger("sync.open311.worker")

Counter = Literal["accepted", "awaiting", "needs_attention", "retried", "reconciled"]


@dataclass
class DrainReport:
    accepted: int = 0
    awaiting: int = 0
    needs_attention: int = 0
    retried: int = 0
    reconciled: int = 0
    paused: set[str] = field(default_factory=set)

    @property
    def handled(self) -> int:
        return self.accepted + self.awaiting + self.needs_attention + self.retried

    def count(self, counters: tuple[Counter, ...]) -> None:
        self.accepted += "accepted" in counters
        self.awaiting += "awaiting" in counters
        self.needs_attention += "needs_attention" in counters
        self.retried += "retried" in counters
        self.reconciled += "reconciled" in counters


class Recorder:
    """Outcomes queued on the group commit without holding up the send's lane; `settled` waits
    for all of them."""

    def __init__(self, store: Store, commit: GroupCommit) -> None:
        self.store = store
        self.commit = commit
        self._settling: list[asyncio.Future[None]] = []

    def logged(self, item: Claimed, event: tuple[str, str], write: Write) -> Callable[[], None]:
        """`write`, and the outbox event that says so (for `assist outbox show`), as one change."""
        def both() -> None:
            write()
            self.store.log_event(item.id, *event)
        return both

    def record(self, item: Claimed, event: tuple[str, str], write: Write, then: Callable[[], object],
               report: DrainReport, *counters: Counter) -> None:
        """Record an outcome with its event, sharing a commit with other sends in flight; `then` (a
        log line) and the report's counters follow only once it is written. A lapsed lease means
        another worker has the submission now: nothing is recorded, nothing is lost."""
        written = self.commit(self.logged(item, event, write))
        self._settling.append(asyncio.ensure_future(_settle(item, written, then, report, counters)))

    async def settled(self) -> None:
        """Wait until every outcome recorded so far is written (and logged, and counted)."""
        while self._settling:
            settling, self._settling = self._settling, []
            await asyncio.gather(*settling)


async def _settle(item: Claimed, written: asyncio.Future[object], then: Callable[[], object], report: DrainReport,
                  counters: tuple[Counter, ...]) -> None:
    try:
        await written
    except (TransitionError, StoreError) as error:
        log.warning("%s: not recorded (%s)", reference_module.display(item.reference), error)
        return
    then()
    report.count(counters)
