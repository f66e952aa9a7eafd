"""The sync worker's one call into the fleet: every `fleet.heartbeat_seconds`, when the kiosk is
enrolled, a heartbeat and then the take-up figures not yet acknowledged.

Nothing here may hold up residents' requests: an unreachable, refusing or slow service is logged
and noted in the store (a reason, never a resident's words), and the worker goes on; the whole
step ends within DEADLINE_TIMEOUTS × `sync.timeout_seconds`, and what was not sent by then goes
next round. Nothing piles up while offline: the next heartbeat is built fresh, and events wait in
the store (they are its own rows) until the service acknowledges them, batch by batch, so a week
offline is caught up without sending anything twice. Only the service's own answer acknowledges:
`ok` for a heartbeat, a count of every event of the batch as stored or duplicate for events
(client.py: a redirect or a captive portal's page is a passing failure). A batch the service
refuses for good (400, 413: a field it does not know, a body too large) is logged and skipped, not
retried for ever. A store that cannot be written does not silence the kiosk: the heartbeat still
goes, saying its store check failed, whether or not the kiosk can note that it went.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Any, Callable

import httpx

from sync.config import Settings
from sync.fleet import heartbeat, link, uploads
from sync.fleet.client import FleetClient, FleetError
from sync.fleet.formats import EVENTS_PATH, HEARTBEAT_PATH
from sync.fleet.urls import service_url
from sync.store import Store
from sync.store.db import StoreError

log = logging.getLogger(__name__)

#: Batches sent in one round at most (the rest follow next round).
MAX_BATCHES = 20
#: Answers that refuse a batch for good: sending it again would be refused again.
REFUSED_FOR_GOOD = (400, 413, 422)
#: The whole step (heartbeat and batches) ends within this many `sync.timeout_seconds` (30 s by
#: default): residents' requests, sent in the same rounds, never wait longer for the fleet.
DEADLINE_TIMEOUTS = 2


def _took_heartbeat(answer: dict[str, Any]) -> bool:
    return answer.get("ok") is True


def _accounted(count: int) -> Callable[[dict[str, Any]], bool]:
    """Whether the service's answer to a batch of `count` says it has every one (fleet/events.py)."""
    def check(answer: dict[str, Any]) -> bool:
        stored, duplicates = answer.get("stored"), answer.get("duplicates")
        return type(stored) is int and type(duplicates) is int and stored + duplicates == count
    return check


class FleetReporter:
    def __init__(self, store: Store, settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.store = store
        self.settings = settings
        self.transport = transport
        self.client: FleetClient | None = None
        self.deadline = float(DEADLINE_TIMEOUTS * settings.sync.timeout_seconds)
        self._next = float("-inf")

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def report_if_due(self) -> None:
        """A heartbeat and the figures owed, if enrolled and `fleet.heartbeat_seconds` have passed."""
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self.settings.fleet.heartbeat_seconds
        await self.report()

    async def report(self) -> bool:
        """Send now, within the deadline; returns whether the service took it all. Never raises
        for the service, nor for the store."""
        try:
            enrolment = link.current(self.store)
            if enrolment is None:
                return False
            async with asyncio.timeout(self.deadline):
                client = await self._client(enrolment.url)
                await self._heartbeat(client, enrolment)
                return await self._events(client, enrolment)
        except TimeoutError:
            reason = (f"the fleet service took longer than {self.deadline:g} s (the fleet step's deadline); "
                      "what was not sent goes next round")
        except (FleetError, ValueError) as error:
            reason = error.reason if isinstance(error, FleetError) else str(error)
        except (StoreError, sqlite3.Error) as error:
            log.warning("fleet: stopped by the store, the rest goes next round: %s", error)
            return False
        log.warning("fleet: %s", reason)
        self._note(link.note_error, reason)
        return False

    def _note(self, note: Callable[..., None], *args: Any) -> None:
        """Note how the exchange went in the store, if the store can be written: a kiosk whose store
        cannot be written must still be heard (its heartbeat says so)."""
        try:
            note(self.store, *args)
        except (StoreError, sqlite3.Error) as error:
            log.warning("fleet: could not note it in the store: %s", error)

    async def _client(self, enrolled_url: str) -> FleetClient:
        """The client of the service (`fleet.url`, or the one enrolled with): kept while the service
        is the same however its URL is written, and the old one closed when it moves."""
        url = service_url(self.settings.fleet.url or enrolled_url)
        if self.client is not None and self.client.url != url:
            await self.client.aclose()
            self.client = None
        if self.client is None:
            self.client = FleetClient(url, transport=self.transport)
        return self.client

    async def _heartbeat(self, client: FleetClient, enrolment: link.Link) -> None:
        now = self.store.clock()
        body = heartbeat.build(self.store, self.settings, enrolment, now)
        try:
            answer = await client.post(HEARTBEAT_PATH, body, device_id=enrolment.device_id, token=enrolment.token,
                                       expect=_took_heartbeat)
        except FleetError as error:
            if error.status not in REFUSED_FOR_GOOD:
                raise
            log.warning("fleet: heartbeat refused: %s", error.reason)  # the events may still go
            self._note(link.note_error, error.reason)
            return
        if link.last_error(self.store):  # what went wrong last time is over: said once, where it was said
            log.info("fleet: the fleet service took this kiosk's heartbeat again")
        self._note(link.note_heartbeat, now, answer.clock_offset_seconds)

    async def _events(self, client: FleetClient, enrolment: link.Link) -> bool:
        """Batches until none is left (or MAX_BATCHES); whether every one was taken."""
        after, taken = enrolment.events_sent_until, True
        for _ in range(MAX_BATCHES):
            batch = uploads.next_batch(self.store, enrolment.store_id, after)
            if not batch.items:
                break
            try:
                await client.post(EVENTS_PATH, batch.body(), device_id=enrolment.device_id, token=enrolment.token,
                                  expect=_accounted(len(batch.items)))
            except FleetError as error:
                if error.status not in REFUSED_FOR_GOOD:
                    raise
                log.warning("fleet: a batch of %d take-up events was refused and is skipped: %s",
                            len(batch.items), error.reason)
                taken = False
            link.acknowledge(self.store, batch.events_until, batch.submission_ids)
            after = batch.events_until
        return taken
