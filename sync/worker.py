"""The sync worker: drains the outbox into the council's back offices, exactly once, and brings
their progress back.

It is the only part of assist that calls out. Each round it claims due submissions (with a
lease), sends them with bounded concurrency over keep-alive connections, and acts on every
outcome: accepted, a token to poll, refused (a person must look), a bad API key (pause that back
office, fail nothing), or a passing failure (retry with backoff). A submission whose request may
have arrived without an answer is never sent blindly again: the worker first looks for its
reference among the council's requests and adopts the id it finds (see docs/sync.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable
from datetime import datetime, timedelta, timezone

import httpx

from sync import reference as reference_module
from sync import texts
from sync.catalogue import Catalogue
from sync.config import DEFAULT_BACKOFFICE, KioskSettings, Settings
from sync.db import StoreError
from sync.db import write as db_write
from sync.flow import DESCRIPTION_MAX
from sync.followups import FollowUpSender
from sync.sender import TextSender
from sync.open311 import NotFound, Open311Client, Refused, Transient, Unauthorised, as_text, parse_when
from sync.store import Claimed, Store, TransitionError

log = logging.getLogger(__name__)

#: Open311 and FixMyStreet statuses after which nothing more will happen to a request.
CLOSED_STATUSES = frozenset({"closed", "fixed", "duplicate", "not_councils_responsibility", "no_further_action",
                             "cancelled", "internal_referral", "unable_to_fix"})
ID_BATCH = 50
RECONCILED_NOTE = "found at the council after a lost answer"
#: What a search returns for a submission that is not at the council.
ABSENT = object()
#: How often personal data past its time is purged (seconds).
PURGE_EVERY = 3600.0
#: How often, at most, a steady reachability is written to the store (seconds).
REACHABILITY_EVERY = 5.0
#: Open311 servers default to (and some insist on) a window of at most 90 days.
SEARCH_WINDOW_MAX = timedelta(days=89)


def compose_description(description: str, reference: str, note: str = "") -> str:
    """The resident's words, a note for the council (such as how it was made) and the reference,
    within Open311's 4,000 characters. Only the resident's words are shortened to fit: the
    reference is how this submission is found again at the council if an answer is lost."""
    tag = "".join(f"\n\n{part}" for part in (note, f"[assist reference {reference_module.display(reference)}]")
                  if part)
    room = DESCRIPTION_MAX - len(tag)
    text = description if len(description) <= room else description[:room - 1] + "…"
    return (text + tag).strip()


def assistance_note(assisted_by: str | None, kiosk: KioskSettings) -> str:
    """What the council is told of a volunteer's help: that there was some, and where; the
    volunteer's name only when `kiosk.name_volunteer_to_council` is on. Empty when unassisted."""
    if not assisted_by:
        return ""
    helper = f"{assisted_by} (volunteer)" if kiosk.name_volunteer_to_council else "a volunteer"
    return f"Submitted at {kiosk.library_name} with help from {helper}."


def request_fields(item: Claimed, kiosk: KioskSettings) -> list[tuple[str, str]]:
    """The form fields of an Open311 POST for a claimed submission (`kiosk`: the settings that
    word the note of a volunteer's help)."""
    payload = item.payload
    fields = [("service_code", item.service_code)]
    location = payload.get("location") or {}
    if location.get("lat") is not None and location.get("long") is not None:
        fields += [("lat", str(location["lat"])), ("long", str(location["long"]))]
    for key in ("address_string", "address_id"):
        if location.get(key):
            fields.append((key, str(location[key])))
    for code, value in (payload.get("attributes") or {}).items():
        if isinstance(value, list):
            fields += [(f"attribute[{code}][]", str(item_value)) for item_value in value]
        else:
            fields.append((f"attribute[{code}]", str(value)))
    fields.append(("description", compose_description(payload.get("description") or "", item.reference,
                                                      assistance_note(item.assisted_by, kiosk))))
    contact = item.contact or {}
    if contact.get("name"):
        first, _, last = contact["name"].rpartition(" ")
        fields += [("first_name", first or last), ("last_name", last if first else "")]
    for key in ("email", "phone"):
        if contact.get(key):
            fields.append((key, contact[key]))
    fields.append(("device_id", item.device_id))
    return fields


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


class Worker:
    def __init__(self, store: Store, settings: Settings, *, owner: str | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, text_sender: TextSender | None = None) -> None:
        self.store = store
        self.settings = settings
        self.sync = settings.sync
        self.owner = owner or f"{settings.device_id}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.clients = {name: Open311Client(name, backoffice, settings.sync, transport=transport)
                        for name, backoffice in settings.all_backoffices().items()}
        self._limits = {name: asyncio.Semaphore(settings.sync.concurrency) for name in self.clients}
        self._no_updates: set[str] = set()
        self._reachability: dict[str, tuple[bool, float]] = {}
        self.texts = text_sender or TextSender(store, settings)
        self._batch_catalogue: asyncio.Future | None = None  # one catalogue refresh per batch of refusals
        self._outcomes: list[tuple[Callable[[], object], Callable[[], object], DrainReport, tuple[str, ...]]] = []
        self._last_purge = float("-inf")
        self._last_catalogue = self._last_status = self._last_probe = float("-inf")

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients.values()))
        await self.texts.aclose()

    # -- draining ----------------------------------------------------------------------------

    async def drain(self) -> DrainReport:
        """Send everything that is due now; what fails is rescheduled, not retried in this pass.

        Per batch: the ambiguous submissions are looked for at the council with one search per
        back office and service, the new ones are marked `sending` in one transaction (the
        write-ahead, one fsync for the batch), then all are sent with bounded concurrency.
        """
        report = DrainReport()
        due_by = self.store.clock()
        while batch := self.store.claim(self.owner, self.sync.batch_size, due_by=due_by):
            await self._process(batch, report)
        return report

    async def _process(self, batch: list[Claimed], report: DrainReport) -> None:
        self._batch_catalogue = None
        found = await self._reconcile_batch([item for item in batch if item.ambiguous])
        marked = [item.id for item in batch if item.state == "queued"]
        try:
            if marked:
                self.store.mark_sending(marked, self.owner)
        except TransitionError as error:  # a lease lapsed already: each is marked on its own
            log.warning("batch write-ahead failed (%s); marking one by one", error)
            marked = []
        await asyncio.gather(*(self._handle(item, report, found.get(item.id), item.id in marked)
                               for item in batch))
        try:
            self._flush()
        except StoreError as error:  # still `sending`: found at the council, not resent, next time
            log.error("could not record a batch of outcomes (%s); they will be reconciled", error)

    def _later(self, write: Callable[[], object], then: Callable[[], object], report: DrainReport,
               *counters: str) -> None:
        """Record an outcome with the rest of the batch's, in one commit (see _flush); `then`
        (a log line) and the report's counters follow only once it is written."""
        self._outcomes.append((write, then, report, counters))

    def _flush(self) -> None:
        """Write the batch's outcomes in one transaction, each in its own savepoint, so that a
        thousand answers cost one fsync rather than a thousand. Should the process die before
        this commits, the submissions are still `sending`, and are found at the council (not
        sent again) when their lease lapses, as after any crash."""
        outcomes, self._outcomes = self._outcomes, []
        if not outcomes:
            return
        written = []
        with db_write(self.store.db):
            for write, then, report, counters in outcomes:
                try:
                    write()
                except TransitionError as error:  # the lease lapsed: another worker has it now
                    log.warning("%s", error)
                    continue
                written.append((then, report, counters))
        for then, report, counters in written:  # only once committed: nothing is claimed that is not so
            then()
            for counter in counters:
                setattr(report, counter, getattr(report, counter) + 1)

    def _client(self, item: Claimed) -> Open311Client:
        return self.clients.get(item.backoffice) or self.clients[DEFAULT_BACKOFFICE]

    def _note_reachable(self, name: str, reachable: bool, error: str | None = None) -> None:
        """Record reachability for the channels to show: at once when it changes or fails, and
        otherwise every few seconds, not on every request (each write is an fsync)."""
        last = self._reachability.get(name)
        now = time.monotonic()
        if error is None and last is not None and last[0] == reachable and now - last[1] < REACHABILITY_EVERY:
            return
        self.store.set_backoffice_state(name, reachable=reachable, error=error)
        self._reachability[name] = (reachable, now)

    async def _handle(self, item: Claimed, report: DrainReport, found: object, marked: bool) -> None:
        client = self._client(item)
        async with self._limits[client.name]:
            try:
                await self._send(item, client, report, found, marked)
            except Unauthorised as error:
                self._pause(client.name, f"the council refused our API key ({error})", report)
                self._retry(item, f"{client.name} refused our API key", report, maybe_sent=item.ambiguous,
                            retry_after=0)
            except Transient as error:
                self._note_reachable(client.name, error.reachable, error.reason)
                self._retry(item, error.reason, report, maybe_sent=error.maybe_sent or item.ambiguous,
                            retry_after=error.retry_after)
            except TransitionError as error:  # our lease lapsed mid-send: another worker has it now
                log.warning("%s: %s", reference_module.display(item.reference), error)
            except Exception as error:  # a bug must cost one submission a retry, never the worker
                log.error("%s: unexpected %s; it will be tried again", reference_module.display(item.reference),
                          type(error).__name__, exc_info=True)
                self._retry(item, f"unexpected {type(error).__name__}", report, maybe_sent=True)

    @staticmethod
    def _scrub(item: Claimed, reason: str) -> str:
        """A council's error may echo the form back: keep the resident's own details out of
        `last_error`, `assist outbox list` and the logs."""
        personal = [str(value) for value in (item.contact or {}).values() if value]
        personal += [str(item.payload.get("description") or "")]
        personal += [str(value) for value in (item.payload.get("location") or {}).values() if isinstance(value, str)]
        for value in sorted((value for value in personal if len(value) >= 4), key=len, reverse=True):
            reason = reason.replace(value, "[removed]")
        return reason

    async def _send(self, item: Claimed, client: Open311Client, report: DrainReport, found: object,
                    marked: bool) -> None:
        ref = reference_module.display(item.reference)
        if item.state == "awaiting_id":
            await self._poll_token(item, client, report)
            return
        if item.ambiguous:
            if isinstance(found, NotFound):
                reason = (f"{client.name} cannot be searched, so whether this request arrived (its answer was lost) "
                          "cannot be checked: ask the council, then resend or cancel it")
                self._later(lambda: self.store.mark_needs_attention(item.id, self.owner, reason),
                            lambda: log.warning("%s: %s", ref, reason), report, "needs_attention")
                return
            if isinstance(found, Unauthorised):
                raise Unauthorised(str(found))
            if isinstance(found, Transient):
                raise Transient(f"looking for it at the council: {found.reason}", maybe_sent=True,
                                reachable=found.reachable, retry_after=found.retry_after)
            if found is not ABSENT:
                self._later(lambda: self.store.mark_accepted(item.id, self.owner, found, RECONCILED_NOTE),
                            lambda: log.info("%s: found at %s as %s after a lost answer; not sent again", ref,
                                             client.name, found), report, "accepted", "reconciled")
                return
        if not marked:
            self.store.mark_sending(item.id, self.owner)
        outcome = await client.create(request_fields(item, self.settings.kiosk))
        self._note_reachable(client.name, True)
        if isinstance(outcome, Refused):
            reason = self._scrub(item, await self._refusal_reason(item, client, outcome))
            self._later(lambda: self.store.mark_needs_attention(item.id, self.owner, reason),
                        lambda: log.warning("%s: refused by %s: %s", ref, client.name, reason), report,
                        "needs_attention")
        elif outcome.service_request_id is not None:
            self._later(lambda: self.store.mark_accepted(item.id, self.owner, outcome.service_request_id,
                                                         outcome.notice),
                        lambda: log.info("%s: accepted by %s as %s", ref, client.name, outcome.service_request_id),
                        report, "accepted")
        else:
            self._later(lambda: self.store.mark_awaiting_id(item.id, self.owner, outcome.token),
                        lambda: log.info("%s: taken by %s, id to follow (token %s)", ref, client.name, outcome.token),
                        report, "awaiting")

    async def _poll_token(self, item: Claimed, client: Open311Client, report: DrainReport) -> None:
        request_id = await client.token(item.token)
        self._note_reachable(client.name, True)
        if request_id is None:
            self._retry(item, "the council has not given an id yet", report, maybe_sent=True)
            return
        self._later(lambda: self.store.mark_accepted(item.id, self.owner, request_id),
                    lambda: log.info("%s: token %s became %s", reference_module.display(item.reference), item.token,
                                     request_id), report, "accepted")

    async def _reconcile_batch(self, items: list[Claimed]) -> dict[int, object]:
        """For each ambiguous submission: the council's id if it is there, ABSENT if it is not,
        or the exception that stopped the search. One search per back office and service."""
        groups: dict[tuple[str, str], list[Claimed]] = {}
        for item in items:
            groups.setdefault((self._client(item).name, item.service_code), []).append(item)
        results = await asyncio.gather(*(self._reconcile(self.clients[name], code, group)
                                         for (name, code), group in groups.items()))
        return {item_id: value for result in results for item_id, value in result.items()}

    async def _reconcile(self, client: Open311Client, service_code: str, items: list[Claimed]) -> dict[int, object]:
        """Look for submissions whose answers were lost among the council's requests.

        The search window is taken from the council's clock and is generous: the oldest first
        send's age by our clock (which can be hours wrong after a power cut) plus a day, and at
        least `sync.reconcile_days`. A server that cannot be searched gives NotFound: those
        submissions are never resent blindly (see docs/sync.md).
        """
        try:
            if client.server_now() is None:
                await client.services_checked()  # brings the council's clock in its Date header
            server_now = client.server_now() or datetime.now(timezone.utc)
            oldest = min(item.first_sent_at or item.created_at for item in items)
            age = max(timedelta(0), self.store.clock() - oldest)
            back = min(max(age + timedelta(days=1), timedelta(days=self.sync.reconcile_days)), SEARCH_WINDOW_MAX)
            wanted = {item.reference: item.id for item in items}
            found: dict[int, object] = {}
            async for record in client.search(service_code, server_now - back, server_now + timedelta(hours=1)):
                for ref in reference_module.find_in(str(record.get("description") or "")):
                    if ref in wanted and (request_id := as_text(record.get("service_request_id"))) is not None:
                        found[wanted[ref]] = request_id
                if len(found) == len(wanted):
                    break
        except (NotFound, Transient, Unauthorised) as error:
            return {item.id: error for item in items}
        return {item.id: found.get(item.id, ABSENT) for item in items}

    async def _refusal_reason(self, item: Claimed, client: Open311Client, outcome: Refused) -> str:
        """The council's words; for a code it no longer knows, say so. The catalogue is fetched
        again once per batch however many are refused, not once for each."""
        if self._batch_catalogue is None:
            self._batch_catalogue = asyncio.ensure_future(self.refresh_catalogue())
        try:
            current = await asyncio.shield(self._batch_catalogue)
        except Transient:
            current = None
        if current is not None and current.get(item.service_code) is None:
            return f"the council no longer offers service {item.service_code!r} ({outcome.status}: {outcome.message})"
        return f"{outcome.status}: {outcome.message}"

    def _retry(self, item: Claimed, reason: str, report: DrainReport, *, maybe_sent: bool,
               retry_after: float | None = None) -> None:
        at_least = self.sync.backoff_base_seconds if maybe_sent else 0
        reason = self._scrub(item, reason)
        due: list[datetime] = []
        self._later(lambda: due.append(self.store.retry_later(item.id, self.owner, reason, maybe_sent=maybe_sent,
                                                              retry_after=retry_after, at_least=at_least)),
                    lambda: log.info("%s: will try again at %s (%s)", reference_module.display(item.reference),
                                     due[0].strftime("%H:%M:%S"), reason), report, "retried")

    def _pause(self, name: str, reason: str, report: DrainReport) -> None:
        if name not in report.paused:
            self.store.set_backoffice_state(name, reachable=True, error=reason, paused=True, paused_reason=reason)
            log.error("PAUSED sending to back office %r: %s. Nothing is lost; fix its api_key, then run "
                      "`assist sync resume`. Trying again every %s s.",
                      name, reason, self.sync.reprobe_seconds)
        report.paused.add(name)

    async def probe_paused(self) -> None:
        """Try one submission for each paused back office; a success resumes it."""
        for name, state in self.store.backoffice_states().items():
            if not state["paused"] or name not in self.clients:
                continue
            report = DrainReport()
            await self._process(self.store.claim(self.owner, 1, backoffices=[name], include_paused=True), report)
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
            self._note_reachable(name, True)
            waiting = self.store.expedite(name)
            log.info("back office %r is reachable again; sending the %d waiting for it", name, waiting)

    # -- catalogue and statuses --------------------------------------------------------------

    async def refresh_catalogue(self) -> Catalogue:
        """Fetch each back office's services, keep those routed to it, and cache the union."""
        services = []
        versions = []
        for name, client in self.clients.items():
            fetched = await client.catalogue()
            services += [service for service in fetched.services if self.settings.route(service.code) == name]
            versions.append(fetched.version)
        council = Catalogue(version=" ".join(versions), source="council", services=tuple(services))
        self.store.save_council_catalogue(council)
        self._last_catalogue = time.monotonic()
        log.info("catalogue refreshed: %d services", len(services))
        return self.store.catalogue()

    async def pull_statuses(self) -> int:
        """Bring each open request's progress back into its status history; returns changes."""
        changes = 0
        for name, client in self.clients.items():
            open_requests = self.store.open_requests(name)
            if not open_requests:
                continue
            try:
                if name not in self._no_updates:
                    try:
                        changes += await self._pull_updates(name, client, open_requests)
                        continue
                    except NotFound:
                        self._no_updates.add(name)
                changes += await self._pull_requests(client, open_requests)
            except Transient as error:
                self._note_reachable(name, error.reachable, error.reason)
        self._last_status = time.monotonic()
        return changes

    async def _pull_requests(self, client: Open311Client, open_requests: dict[str, int]) -> int:
        ids = list(open_requests)
        found: dict[str, dict] = {}
        for start in range(0, len(ids), ID_BATCH):
            for record in await client.requests_by_id(ids[start:start + ID_BATCH]):
                if (request_id := as_text(record.get("service_request_id"))) in open_requests:
                    found[request_id] = record
        for request_id in ids:  # some servers answer a list of ids with one request only
            if request_id not in found and (record := await client.request(request_id)) is not None:
                found[request_id] = record
        changes = 0
        for request_id, record in found.items():
            status = str(record.get("status") or "open").lower()
            changes += self._record_status(open_requests[request_id], status, as_text(record.get("status_notes")),
                                           parse_when(record.get("updated_datetime")))
        return changes

    def _record_status(self, submission_id: int, status: str, notes: str | None, at: datetime | None,
                       external_id: str | None = None) -> bool:
        """Record the council's news and, if it is news, text the resident who asked for texts."""
        recorded = self.store.record_status(submission_id, status, notes, at, closed=status in CLOSED_STATUSES,
                                            external_id=external_id)
        if recorded:
            texts.queue_status_text(self.store, submission_id, status, notes, settings=self.settings)
        return recorded

    async def _pull_updates(self, name: str, client: Open311Client, open_requests: dict[str, int]) -> int:
        server_now = client.server_now() or datetime.now(timezone.utc)
        since = self.store.updates_checked_until(name) or server_now - timedelta(days=self.sync.reconcile_days)
        updates = await client.updates(since - timedelta(minutes=5), server_now + timedelta(minutes=5))
        changes = 0
        for update in sorted(updates, key=lambda u: str(u.get("updated_datetime") or "")):
            request_id = as_text(update.get("service_request_id"))
            if request_id not in open_requests:
                continue
            status = str(update.get("status") or "open").lower()
            changes += self._record_status(open_requests[request_id], status, as_text(update.get("description")),
                                           parse_when(update.get("updated_datetime")),
                                           external_id=as_text(update.get("update_id")))
        self.store.set_updates_checked_until(name, client.server_now() or server_now)
        return changes

    # -- the loop ----------------------------------------------------------------------------

    async def tick(self) -> DrainReport:
        """One round of `assist sync run`: whatever is due, then the slower duties when due."""
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
        if time.monotonic() - self._last_status >= self.sync.status_poll_seconds:
            await self.pull_statuses()
        texts.queue_reference_texts(self.store, settings=self.settings)
        await FollowUpSender(self.store, self.settings, self.clients, owner=self.owner).send_due()
        await self.texts.send_due()
        await self.texts.check_deliveries()
        if time.monotonic() - self._last_purge >= PURGE_EVERY:
            self._last_purge = time.monotonic()
            purged = {**self.store.purge(), **{f"texts_{k}": v for k, v in texts.purge(self.store).items()}}
            if any(purged.values()):
                log.info("purged personal data: %s", ", ".join(f"{k} {v}" for k, v in purged.items() if v))
        return report

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: a round every `sync.poll_seconds`, or at once on "sync now"."""
        while not stop.is_set():
            await self.tick()
            waited = 0.0
            while waited < self.sync.poll_seconds and not stop.is_set():
                if self.store.take_request("sync_now"):
                    self._last_status = float("-inf")
                    self.store.expedite()
                    break
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    waited += 0.5
