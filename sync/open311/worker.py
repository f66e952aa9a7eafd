"""The sync worker: drains the outbox into the council's back offices, exactly once, and brings
their progress back.

It is the only part of assist that calls out. Each round (`tick`) it claims due submissions with
a lease and sends them (sync.open311.sending), then does the slower duties when they are due: the
catalogue, probing paused and unreachable back offices, the council's news
(sync.open311.statuses), residents' follow-ups and texts, the retention purge (docs/sync.md), and
an enrolled kiosk's heartbeat to the council's fleet service (sync/fleet/).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import time
import uuid

import httpx

from sync.catalogue import Catalogue
from sync.config import Settings
from sync.fleet.reporter import FleetReporter
from sync.open311 import resolve
from sync.open311.client import Open311Client
from sync.open311.followup_sender import FollowUpSender
from sync.open311.form import compose_description, request_fields
from sync.open311.outcomes import NotFound, Transient, Unauthorised
from sync.open311.paging import paging_from_json
from sync.open311.reachability import Reachability
from sync.open311.reconcile import GIVE_UP_REASON, RECONCILED_NOTE, save_paging
from sync.open311.recording import DrainReport
from sync.open311.sending import Sender
from sync.open311.statuses import CLOSED_STATUSES, StatusPuller
from sync.store import Store
from sync.store.db import StoreError, translate_error
from sync.texting import notices, retention
from sync.texting.sender import TextSender

#: What callers have always imported from here (the form, the notes, the report), kept here.
__all__ = ["CLOSED_STATUSES", "GIVE_UP_REASON", "RECONCILED_NOTE", "DrainReport", "Worker", "compose_description",
           "request_fields"]

log = logging.getLogger(__name__)

#: How often personal data past its time is purged (seconds).
PURGE_EVERY = 3600.0
#: How often "sync now" is looked for while waiting between rounds (seconds).
ASKED_EVERY = 0.5


class Worker:
    def __init__(self, store: Store, settings: Settings, *, owner: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, text_sender: TextSender | None = None) -> None:
        self.store = store
        self.settings = settings
        self.sync = settings.sync
        self.owner = owner or f"{settings.device_id}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clients = {name: Open311Client(name, backoffice, settings.sync, transport=transport)
                        for name, backoffice in settings.all_backoffices().items()}
        states = store.backoffice_states()
        for name, client in self.clients.items():
            client.paging = paging_from_json(states.get(name, {}).get("search_mode"))
        self.reachability = Reachability(store)
        self.sender = Sender(store, settings, self.clients, owner=self.owner, reachability=self.reachability,
                             refresh=self.refresh_catalogue)
        self.statuses = StatusPuller(store, settings, self.reachability)
        self.texts = text_sender or TextSender(store, settings)
        self.followups = FollowUpSender(store, settings, self.clients, owner=self.owner)
        self.fleet = FleetReporter(store, settings)  # does nothing until the kiosk is enrolled
        self._last_purge = float("-inf")
        self._last_catalogue = self._last_status = self._last_probe = float("-inf")

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients.values()))
        await self.texts.aclose()
        await self.fleet.aclose()

    async def drain(self) -> DrainReport:
        """Send everything that is due now; what fails is rescheduled, not retried in this pass."""
        report = DrainReport()
        due_by = self.store.clock()
        while batch := self.store.claim(self.owner, self.sync.batch_size, due_by=due_by):
            await self.sender.send(batch, report)
        return report

    async def probe_paused(self) -> None:
        """Try one submission for each paused back office; a success resumes it."""
        for name, state in self.store.backoffice_states().items():
            if not state["paused"] or name not in self.clients:
                continue
            report = DrainReport()
            await self.sender.send(self.store.claim(self.owner, 1, backoffices=[name], include_paused=True), report)
            if report.accepted or report.awaiting or report.needs_attention:
                self.store.set_backoffice_state(name, paused=False)
                log.warning("back office %r accepts our API key again: resumed", name)

    async def probe_unreachable(self) -> None:
        """Ask each back office last seen unreachable whether it is back; if it is, what waits
        for it is sent now rather than when its backoff ends: whenever a connection is available."""
        for name, state in self.store.backoffice_states().items():
            if state["reachable"] != 0 or name not in self.clients:
                continue
            try:
                await self.clients[name].services_checked()
            except (Transient, NotFound, Unauthorised):
                continue
            self.reachability.note(name, True)
            waiting = self.store.expedite(name)
            log.info("back office %r is reachable again; sending the %d waiting for it", name, waiting)

    async def refresh_catalogue(self) -> Catalogue:
        """Fetch each back office's services, keep those routed to it, and cache the union."""
        services = []
        versions = []
        for name, client in self.clients.items():
            client.paging = {}  # learnt again with each catalogue, as is whether its search can be trusted
            try:
                fetched = await client.catalogue()
            finally:
                save_paging(self.store, client)
            self.store.set_search_state(name, verified=False)
            services += [service for service in fetched.services if self.settings.route(service.code) == name]
            versions.append(fetched.version)
        council = Catalogue(version=" ".join(versions), source="council", services=tuple(services))
        self.store.save_council_catalogue(council)
        self._last_catalogue = time.monotonic()
        log.info("catalogue refreshed: %d services", len(services))
        return self.store.catalogue()

    async def pull_statuses(self) -> int:
        """Bring each open request's progress back into its status history; returns changes."""
        changes = await self.statuses.pull(self.clients)
        self._last_status = time.monotonic()
        return changes

    # -- the loop ----------------------------------------------------------------------------

    async def tick(self) -> DrainReport:
        """One round of `assist sync run`: whatever is due, then the slower duties when due, then
        the fleet's heartbeat when due, even after a round stopped by a failing store: that kiosk
        is the one the council most needs to hear from (its heartbeat says which check failed)."""
        try:
            report = await self._round()
        except Exception:
            await self.fleet.report_if_due()  # never raises for the service or the store
            raise
        await self.fleet.report_if_due()
        return report

    async def _round(self) -> DrainReport:
        if self._last_purge == float("-inf"):  # the first round: council notes kept in clear by an earlier version
            self.store.seal_clear_notes()
        now = time.monotonic()
        if now - self._last_catalogue >= self.sync.catalogue_refresh_seconds:
            try:
                await self.refresh_catalogue()
            except Transient as error:
                self._last_catalogue = now
                log.warning("catalogue not refreshed (%s); keeping the last good one", error.reason)
        if now - self._last_probe >= self.sync.reprobe_seconds:
            self._last_probe = now
            await self.probe_paused()
        await self.probe_unreachable()
        report = await self.drain()
        await resolve.check_pending(self.store, self.clients)  # staff's "it is at the council as N", checked there
        if time.monotonic() - self._last_status >= self.sync.status_poll_seconds:
            await self.pull_statuses()
        notices.queue_reference_texts(self.store, settings=self.settings)
        await self.followups.send_due()
        await self.texts.send_due()
        await self.texts.check_deliveries()
        if time.monotonic() - self._last_purge >= PURGE_EVERY:
            self._purge()
        return report

    def _purge(self) -> None:
        self._last_purge = time.monotonic()
        purged = {**self.store.purge(), **{f"texts_{k}": v for k, v in retention.purge(self.store).items()}}
        if any(purged.values()):
            log.info("purged personal data: %s", ", ".join(f"{k} {v}" for k, v in purged.items() if v))

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: a round every `sync.poll_seconds`, or at once on "sync now"."""
        while not stop.is_set():
            try:
                await self.tick()
            except (StoreError, sqlite3.Error) as error:  # a full disk, a long lock: wait, try again
                problem = error if isinstance(error, StoreError) else translate_error(error)
                if problem is None:
                    raise  # a constraint or a bad statement: a bug, not the store's state
                log.warning("sync round stopped by the store, trying again in %d s: %s",
                            self.sync.poll_seconds, problem)
            await self._wait(stop)

    async def _wait(self, stop: asyncio.Event) -> None:
        """Until the next round is due, `stop` is set, or someone asks for "sync now"."""
        waited = 0.0
        while waited < self.sync.poll_seconds and not stop.is_set():
            try:
                asked = self.store.take_request("sync_now")
            except (StoreError, sqlite3.Error):
                asked = False  # the round after the wait says what is wrong
            if asked:
                self._last_status = float("-inf")
                self.store.expedite()
                return
            try:
                await asyncio.wait_for(stop.wait(), timeout=ASKED_EVERY)
            except asyncio.TimeoutError:
                waited += ASKED_EVERY
