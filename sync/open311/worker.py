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
import collections
import contextlib
import logging
import os
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

import httpx

from sync import reference as reference_module
from sync import scrub
from sync.catalogue import Catalogue, to_council
from sync.config import DEFAULT_BACKOFFICE, KioskSettings, Settings, parse_point
from sync.flow import DESCRIPTION_MAX
from sync.open311 import resolve
from sync.open311.client import (
    NotFound,
    Open311Client,
    Refused,
    Transient,
    Unauthorised,
    Unsearchable,
    as_text,
    paging_from_json,
    paging_to_json,
    parse_when,
)
from sync.open311.followups import FollowUpSender
from sync.places import gazetteer
from sync.store import Claimed, Store, TransitionError
from sync.store.db import StoreError, translate_error
from sync.store.db import write as db_write
from sync.texting import notices, retention
from sync.texting.sender import TextSender

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
#: After this many failed searches in a row, how the server pages is learnt again.
SEARCH_RELEARN_AFTER = 3
GIVE_UP_REASON = "sent, but the answer was lost and the council cannot be searched: check with the council"
#: Words in a refusal that say it is about our credentials, whatever its status code.
KEY_WORDS = re.compile(r"api[ _-]?key|apikey|credential|unauthori[sz]ed|authenticat|forbidden", re.IGNORECASE)


def _names_a_field(message: str, fields: list[tuple[str, str]]) -> bool:
    """Whether a council's refusal names a field of the request (or its service code): then it is
    about this request, not about how the back office is set up."""
    text = message.lower()
    names = {name.split("[", 1)[0] for name, _ in fields} | {
        name[len("attribute["):].split("]", 1)[0] for name, _ in fields if name.startswith("attribute[")}
    names |= {value for name, value in fields if name == "service_code"}
    names |= {"lat", "long", "address", "location", "service", "description", "attribute", "name", "email", "phone"}
    return any(re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", text) for name in names if name)


def compose_description(description: str, reference: str, note: str = "") -> str:
    """The reference, the resident's words, a note for the council (such as how it was made or
    where the place was described) and the reference again, within Open311's 4,000 characters.
    Only the resident's words are shortened to fit. The reference is how this submission is found
    again at the council if an answer is lost: at the start, so a back office that cuts
    descriptions short keeps it, and at the end, where people reading the request expect it."""
    tag = f"[assist reference {reference_module.display(reference)}]"
    tail = "".join(f"\n\n{part}" for part in (note, tag) if part)
    room = DESCRIPTION_MAX - len(tail) - len(tag) - 1
    text = description if len(description) <= room else description[:room - 1] + "…"
    if not text.strip():
        return f"{note}\n\n{tag}".strip()
    return f"{tag} {text.strip()}{tail}".replace(f"{tag} \n", f"{tag}\n").strip()


def assistance_note(assisted_by: str | None, kiosk: KioskSettings) -> str:
    """What the council is told of a volunteer's help: that there was some, and where; the
    volunteer's name only when `kiosk.name_volunteer_to_council` is on. Empty when unassisted."""
    if not assisted_by:
        return ""
    helper = f"{assisted_by} (volunteer)" if kiosk.name_volunteer_to_council else "a volunteer"
    return f"Submitted at {kiosk.library_name} with help from {helper}."


def request_fields(item: Claimed, kiosk: KioskSettings, catalogue: Catalogue | None = None,
                   place: tuple[float, float] | None = None) -> list[tuple[str, str]]:
    """The form fields of an Open311 POST for a claimed submission (`kiosk`: the settings that
    word the note of a volunteer's help; `catalogue`: the one in force, for the council's codes).
    `place` gives coordinates for a place described only in words (see Worker._place_for); the
    words then go in the description too, since some servers ignore `address_string`."""
    payload = item.payload
    service_code, answers = to_council(catalogue, item.service_code, payload.get("attributes") or {})
    fields = [("service_code", service_code)]
    location = payload.get("location") or {}
    notes = [assistance_note(item.assisted_by, kiosk)]
    if location.get("lat") is not None and location.get("long") is not None:
        fields += [("lat", str(location["lat"])), ("long", str(location["long"]))]
    elif place is not None:
        fields += [("lat", str(place[0])), ("long", str(place[1]))]
        if location.get("address_string"):
            notes.append(f"Where: {location['address_string']}")
    for key in ("address_string", "address_id"):
        if location.get(key):
            fields.append((key, str(location[key])))
    for code, value in answers.items():
        if isinstance(value, list):
            fields += [(f"attribute[{code}][]", str(item_value)) for item_value in value]
        else:
            fields.append((f"attribute[{code}]", str(value)))
    fields.append(("description", compose_description(payload.get("description") or "", item.reference,
                                                      "\n".join(note for note in notes if note))))
    contact = item.contact or {}
    if contact.get("name"):
        first, _, last = contact["name"].rpartition(" ")
        fields += [("first_name", first or last), ("last_name", last if first else "")]
    for key in ("email", "phone"):
        if contact.get(key):
            fields.append((key, contact[key]))
    fields.append(("device_id", item.device_id))
    return fields


def personal_fields(item: Claimed) -> list[tuple[str, str]]:
    """What a claimed submission holds that is personal, as (field, value) for sync.scrub: its
    contact details and place as stored, the resident's own words before the reference was added
    to them, and the volunteer's name. (The form as posted holds them too, but reshaped.)"""
    pairs = [(key, str(value)) for key, value in (item.contact or {}).items() if value]
    pairs += [(key, str(value)) for key, value in (item.payload.get("location") or {}).items() if value is not None]
    pairs.append(("description", str(item.payload.get("description") or "")))
    if item.assisted_by:
        pairs.append(("name", item.assisted_by))
    return pairs


def list_keys(catalogue: Catalogue | None, service_code: str) -> frozenset[str]:
    """The keys of the service's list attributes: the council's own words, kept by sync.scrub."""
    service = catalogue.get(service_code) if catalogue is not None else None
    return frozenset(value.key for attribute in (service.attributes if service else ())
                     if attribute.datatype in ("singlevaluelist", "multivaluelist") for value in attribute.values)


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


class GroupCommit:
    """Writes from sends in flight at the same moment, committed together: each caller waits
    until its own write is durable. A send marks itself `sending` and records its outcome through
    this (see Worker._send), and nothing waits for a whole batch.

    A commit (an fsync) blocks the event loop, so committing each write as it comes would leave
    the other sends idle behind every one. Instead the writes wait until every lane (see `lane`)
    is held up by one (`wait_for`), which is when nothing else could happen anyway, or at most
    `WAIT` seconds, so an answer slow to come never holds the others' writes back for long. An
    outcome holds no lane up. Writes are committed in the order they came, so an outcome is never
    durable after the mark of the send that follows it in its lane."""

    WAIT = 0.002

    def __init__(self, store: Store) -> None:
        self.store = store
        self._pending: list[tuple[Callable[[], object], asyncio.Future]] = []
        self._lanes = 0
        self._waiting = 0  # sends held up until their write is committed
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, write: Callable[[], object]) -> asyncio.Future:
        """Queue `write`; the future is done once it is committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((write, future))
        self._schedule(loop)
        return future

    async def wait_for(self, written: asyncio.Future) -> None:
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
        results: list[tuple[asyncio.Future, object, BaseException | None]] = []
        try:
            with db_write(self.store.db):
                for write, future in pending:
                    try:  # each store method is whole or not at all (a savepoint of its own)
                        results.append((future, write(), None))
                    except (TransitionError, StoreError) as error:
                        results.append((future, None, error))
        except StoreError as failure:  # the commit itself failed: none of them is written
            results = [(future, None, failure) for _, future in pending]
        for future, value, error in results:
            if future.cancelled():
                continue
            if error is None:
                future.set_result(value)
            else:
                future.set_exception(error)


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
        self._commit = GroupCommit(store)
        self._settling: list[asyncio.Future] = []
        self._in_force = store.catalogue()
        self._has_gazetteer = False
        self._no_updates: set[str] = set()
        self._reachability: dict[str, tuple[bool, float]] = {}
        self._search_failures: dict[str, int] = {}
        self._verdicts: dict[tuple[str, str], asyncio.Future] = {}  # (back office, refusal) -> is it the key?
        self.texts = text_sender or TextSender(store, settings)
        self.followups = FollowUpSender(store, settings, self.clients, owner=self.owner)
        self._batch_catalogue: asyncio.Future | None = None  # one catalogue refresh per batch of refusals
        self._forms: dict[int, tuple[list[tuple[str, str]], frozenset[str]]] = {}  # this batch's, for _scrub
        self._last_purge = float("-inf")
        self._last_catalogue = self._last_status = self._last_probe = float("-inf")

    async def aclose(self) -> None:
        await asyncio.gather(*(client.aclose() for client in self.clients.values()))
        await self.texts.aclose()

    # -- draining ----------------------------------------------------------------------------

    async def drain(self) -> DrainReport:
        """Send everything that is due now; what fails is rescheduled, not retried in this pass.

        Per batch: the ambiguous submissions are looked for at the council with one search per
        back office and service; then each is sent with bounded concurrency, marked `sending`
        just before its own POST leaves and its outcome recorded as soon as its answer arrives.
        """
        report = DrainReport()
        due_by = self.store.clock()
        while batch := self.store.claim(self.owner, self.sync.batch_size, due_by=due_by):
            await self._process(batch, report)
        return report

    async def _process(self, batch: list[Claimed], report: DrainReport) -> None:
        self._batch_catalogue = None
        self._verdicts = {}
        self._in_force = self.store.catalogue()  # read once a batch, not once a send
        self._has_gazetteer = gazetteer.count(self.store.db) > 0
        self._forms = {}
        found = await self._reconcile_batch([item for item in batch if item.ambiguous])
        waiting: dict[str, collections.deque[Claimed]] = {}
        for item in batch:
            waiting.setdefault(self._client(item).name, collections.deque()).append(item)
        ahead = self.sync.concurrency >= 2  # each lane may mark its next send while this one is out
        lanes = max(1, self.sync.concurrency // 2) if ahead else 1

        async def lane(queue: collections.deque[Claimed]) -> None:
            """Sends to one back office, one after another. While one is out, the next new one is
            marked `sending` (its fsync overlaps the wait for the council's answer), so a lane
            holds at most two marks without an outcome and `sync.concurrency // 2` lanes stay
            within `sync.concurrency`."""
            with self._commit.lane():
                marked: tuple[Claimed, asyncio.Future] | None = None
                while queue or marked:
                    item, mark = marked if marked else (queue.popleft(), None)
                    marked = None
                    if ahead and queue and queue[0].state == "queued":
                        following = queue.popleft()
                        marked = (following, self._commit(self._mark(following)))
                    await self._handle(item, report, found.get(item.id), mark)
        await asyncio.gather(*(lane(queue) for queue in waiting.values() for _ in range(min(lanes, len(queue)))))
        await self._settled()

    def _logged(self, item: Claimed, event: tuple[str, str], write: Callable[[], object]) -> Callable[[], None]:
        """`write`, and the outbox event that says so (for `assist outbox show`), as one change."""
        def both() -> None:
            write()
            self.store.log_event(item.id, *event)
        return both

    async def _record(self, item: Claimed, event: tuple[str, str], write: Callable[[], object],
                      then: Callable[[], object], report: DrainReport, *counters: str) -> None:
        """Record an outcome with its event, sharing a commit with other sends in flight, without
        holding up the send's lane; `then` (a log line) and the report's counters follow only once
        it is written (see `_settled`). A lapsed lease means another worker has the submission
        now: nothing is recorded, nothing is lost."""
        written = self._commit(self._logged(item, event, write))
        self._settling.append(asyncio.ensure_future(self._settle(item, written, then, report, counters)))

    @staticmethod
    async def _settle(item: Claimed, written: asyncio.Future, then: Callable[[], object], report: DrainReport,
                      counters: tuple[str, ...]) -> None:
        try:
            await written
        except (TransitionError, StoreError) as error:
            log.warning("%s: not recorded (%s)", reference_module.display(item.reference), error)
            return
        then()
        for counter in counters:
            setattr(report, counter, getattr(report, counter) + 1)

    async def _settled(self) -> None:
        """Wait until every outcome recorded so far is written (and logged, and counted)."""
        while self._settling:
            settling, self._settling = self._settling, []
            await asyncio.gather(*settling)

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

    async def _handle(self, item: Claimed, report: DrainReport, found: object,
                      mark: asyncio.Future | None = None) -> None:
        client = self._client(item)
        try:
            await self._send(item, client, report, found, mark)
        except Unauthorised as error:
            self._pause(client.name, self._clean(item, f"the council refused our API key ({error})"), report)
            await self._retry(item, f"{client.name} refused our API key", report, maybe_sent=item.ambiguous,
                              retry_after=0)
        except Transient as error:
            self._note_reachable(client.name, error.reachable, self._clean(item, error.reason))
            await self._after_transient(item, client, error, report, posted=False)
        except (TransitionError, StoreError) as error:  # our lease lapsed, or the store could not write
            log.warning("%s: %s", reference_module.display(item.reference), error)
        except Exception as error:  # a bug must cost one submission a retry, never the worker
            log.error("%s: unexpected %s; it will be tried again", reference_module.display(item.reference),
                      type(error).__name__, exc_info=True)
            await self._retry(item, f"unexpected {type(error).__name__}", report, maybe_sent=True)

    @staticmethod
    def _scrub(item: Claimed, reason: str, sent: tuple[list[tuple[str, str]], frozenset[str]] | None = None) -> str:
        """A council's words as they may be stored (`last_error`, outbox events, the history) and
        logged: every value that was sent taken out (sync.scrub). `sent`: the form fields as
        posted and the list keys of its service (kept), else the fields are built again here."""
        fields, keys = sent or (None, frozenset())
        if fields is None:
            try:
                fields = request_fields(item, KioskSettings())
            except Exception:  # a payload request_fields cannot read: what it holds is still removed below
                fields = []
        return scrub.scrub(reason, [*fields, *personal_fields(item)], list_keys=keys)

    def _clean(self, item: Claimed, words: str) -> str:
        """`_scrub` with the form posted for `item` in this batch, where it got that far."""
        return self._scrub(item, words, self._forms.get(item.id))

    def _mark(self, item: Claimed) -> Callable[[], None]:
        """The write-ahead of one send: `sending`, and the outbox event that says so."""
        return self._logged(item, ("sending", f"to {self._client(item).name}"),
                            lambda: self.store.mark_sending(item.id, self.owner))

    async def _send(self, item: Claimed, client: Open311Client, report: DrainReport, found: object,
                    mark: asyncio.Future | None = None) -> None:
        ref = reference_module.display(item.reference)
        if item.state == "awaiting_id":
            await self._poll_token(item, client, report)
            return
        if item.ambiguous:
            if isinstance(found, Unsearchable):
                await self._unsearchable(item, client, str(found), report, answered=True)
                return
            if isinstance(found, Unauthorised):
                raise Unauthorised(str(found))
            if isinstance(found, Transient):
                if found.reachable:
                    await self._unsearchable(item, client, found.reason, report, answered=True)
                    return
                self.store.unsearchable(item.id, answered=False)
                raise Transient(f"looking for it at the council: {found.reason}", maybe_sent=True,
                                reachable=False, retry_after=found.retry_after)
            if found is not ABSENT:
                council_id = str(found)
                await self._record(item, ("found", f"at the council as {council_id}"),
                                   lambda: self.store.mark_accepted(item.id, self.owner, council_id, RECONCILED_NOTE),
                                   lambda: log.info("%s: found at %s as %s after a lost answer; not sent again", ref,
                                                    client.name, found), report, "accepted", "reconciled")
                return
        if client.name in report.paused:  # paused while this one waited its turn: not sent
            if mark is None:
                self.store.release(item.id, self.owner)
            else:  # marked ahead, never sent: back to the queue, nothing counted against it
                await self._commit.wait_for(mark)
                await self._retry(item, f"{client.name} is paused", report, maybe_sent=False, retry_after=0)
            return
        catalogue = self._in_force
        fields = request_fields(item, self.settings.kiosk, catalogue, self._place_for(item))
        secret = [("api_key", client.settings.api_key)] if client.settings.api_key else []  # the form carries it too
        self._forms[item.id] = (fields + secret, list_keys(catalogue, item.service_code))
        await self._commit.wait_for(mark if mark is not None else self._commit(self._mark(item)))
        try:
            outcome = await client.create(fields)
        except Transient as error:
            self._note_reachable(client.name, error.reachable, self._clean(item, error.reason))
            await self._after_transient(item, client, error, report, posted=True)
            return
        self._note_reachable(client.name, True)
        if isinstance(outcome, Refused):
            if await self._is_key_refusal(client, outcome, fields):
                self._pause(client.name, self._clean(item, f"the council refused our request for a reason that "
                                                           f"names none of its fields, as it refuses one with none "
                                                           f"({outcome.status}: {outcome.message})"), report)
                await self._retry(item, f"{client.name} refused our API key", report, maybe_sent=False, retry_after=0)
                return
            reason = self._clean(item, await self._refusal_reason(item, client, outcome))
            await self._record(item, ("refused", reason),
                               lambda: self.store.mark_needs_attention(item.id, self.owner, reason),
                               lambda: log.warning("%s: refused by %s: %s", ref, client.name, reason), report,
                               "needs_attention")
        elif outcome.service_request_id is not None:
            request_id = outcome.service_request_id
            await self._record(item, ("accepted", f"as {request_id}"),
                               lambda: self.store.mark_accepted(item.id, self.owner, request_id, outcome.notice),
                               lambda: log.info("%s: accepted by %s as %s", ref, client.name,
                                                outcome.service_request_id), report, "accepted")
        else:
            token = str(outcome.token)
            await self._record(item, ("token", f"id to follow ({token})"),
                               lambda: self.store.mark_awaiting_id(item.id, self.owner, token),
                               lambda: log.info("%s: taken by %s, id to follow (token %s)", ref, client.name,
                                                outcome.token), report, "awaiting")

    def _place_for(self, item: Claimed) -> tuple[float, float] | None:
        """Coordinates for a place given only in words (councils that require them answer 500 to
        every such request, for ever): the gazetteer's best match for the words, else the
        library's own `kiosk.location`. None where the place has coordinates already."""
        location = item.payload.get("location") or {}
        if location.get("lat") is not None and location.get("long") is not None:
            return None
        words = str(location.get("address_string") or "")
        if words and self._has_gazetteer and (places := gazetteer.search(self.store.db, words, limit=1)):
            if places[0].lat is not None and places[0].lon is not None:
                return places[0].lat, places[0].lon
        return parse_point(self.settings.kiosk.location)

    async def _after_transient(self, item: Claimed, client: Open311Client, error: Transient,
                               report: DrainReport, *, posted: bool) -> None:
        """A passing failure. A 5xx to this submission's own POST, `sync.poison_attempts` times in a
        row while the back office accepts others, is no outage: it goes to staff, maybe sent."""
        maybe_sent = error.maybe_sent or item.ambiguous
        if posted and error.server_error:
            count, since = self.store.server_errors(item.id)
            if count + 1 >= self.sync.poison_attempts and since is not None and \
                    self.store.accepted_since(client.name, since):
                reason = self._clean(item, f"the council answered {error.reason} to this request "
                                           f"{count + 1} times in a row while accepting others; it may be at the "
                                           "council: check with the council, then resolve it")
                await self._record(item, ("poison", reason),
                                   lambda: self.store.mark_needs_attention(item.id, self.owner, reason,
                                                                           maybe_sent=True),
                                   lambda: log.warning("%s: %s", reference_module.display(item.reference), reason),
                                   report, "needs_attention")
                return
        await self._retry(item, error.reason, report, maybe_sent=maybe_sent, retry_after=error.retry_after,
                          server_error=error.server_error if posted else None)

    async def _unsearchable(self, item: Claimed, client: Open311Client, why: str, report: DrainReport, *,
                            answered: bool) -> None:
        """An ambiguous submission that could not be looked for is never sent blindly. It waits;
        once its back office has answered but could not be searched for
        `sync.reconcile_give_up_hours`, it goes to staff, maybe sent."""
        waited = self.store.unsearchable(item.id, answered=answered)
        if waited >= self.sync.reconcile_give_up_hours * 3600:
            reason, why = GIVE_UP_REASON, self._clean(item, why)
            await self._record(item, ("gave_up", why),
                               lambda: self.store.mark_needs_attention(item.id, self.owner, reason, maybe_sent=True),
                               lambda: log.warning("%s: %s (%s)", reference_module.display(item.reference), reason,
                                                   why), report, "needs_attention")
            return
        await self._retry(item, f"sent, but the answer was lost and {client.name} cannot be searched yet ({why})",
                          report, maybe_sent=True, event=("unsearchable", why))

    async def _is_key_refusal(self, client: Open311Client, refusal: Refused, fields: list[tuple[str, str]]) -> bool:
        """Whether a refusal is about the back office's key or set-up rather than this request.

        Some servers answer a wrong key with 400 ("Invalid API key"), not 401/403. A refusal that
        names a field of the request is about the request. One that names none is compared with
        the answer to a request with no fields at all (which no server can create): the same
        words mean the request was never looked at. Further POSTs to the back office wait for the
        verdict, one per back office and refusal."""
        if _names_a_field(refusal.message, fields):
            return False
        key = (client.name, refusal.message)
        if key not in self._verdicts:
            self._verdicts[key] = asyncio.ensure_future(self._key_verdict(client, refusal))
        return await asyncio.shield(self._verdicts[key])

    async def _key_verdict(self, client: Open311Client, refusal: Refused) -> bool:
        if KEY_WORDS.search(refusal.message):
            return True
        try:
            probe = await client.create([])
        except (Transient, Unauthorised) as error:
            return isinstance(error, Unauthorised)
        return isinstance(probe, Refused) and probe.message == refusal.message

    async def _poll_token(self, item: Claimed, client: Open311Client, report: DrainReport) -> None:
        request_id = await client.token(item.token)
        self._note_reachable(client.name, True)
        if request_id is None:
            await self._retry(item, "the council has not given an id yet", report, maybe_sent=True)
            return
        await self._record(item, ("accepted", f"token {item.token} became {request_id}"),
                           lambda: self.store.mark_accepted(item.id, self.owner, request_id),
                           lambda: log.info("%s: token %s became %s", reference_module.display(item.reference),
                                            item.token, request_id), report, "accepted")

    async def _reconcile_batch(self, items: list[Claimed]) -> dict[int, object]:
        """For each ambiguous submission: the council's id if it is there, ABSENT if it is
        proved not to be, or the exception that stopped the search. One search per back office
        and service."""
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
        least `sync.reconcile_days`. What the search finds is adopted. What it does not find is
        taken as absent only where the same search finds a request the council already accepted
        from here (or, lacking one for this service, the back office's searches have found one
        since the catalogue was last fetched): a server that truncates descriptions, filters dates
        on another field or cuts its answers short proves nothing by missing a request.
        """
        now = self.store.clock()
        try:
            if client.server_now() is None:
                await client.services_checked()  # brings the council's clock in its Date header
            server_now = client.server_now() or datetime.now(timezone.utc)
            oldest = min(item.first_sent_at or item.created_at for item in items)
            back = min(max(max(timedelta(0), now - oldest) + timedelta(days=1),
                           timedelta(days=self.sync.reconcile_days)), SEARCH_WINDOW_MAX)
            control = self.store.proof_candidate(client.name, service_code, now - back + timedelta(days=1))
            records = await client.search(self.store.catalogue().council_code(service_code), server_now - back,
                                          server_now + timedelta(hours=1))
            present = self._references(records)
            if control is not None:
                proven = control[0] in present
            else:
                proven = await self._search_proven(client, now)
        except (Unsearchable, Transient, Unauthorised, NotFound) as error:
            if isinstance(error, NotFound):
                error = Unsearchable("the council's server has no search of requests (404)")
            self._search_failed(client, error)
            return {item.id: error for item in items}
        finally:
            self._save_paging(client)
        found = {item.id: present[item.reference] for item in items if item.reference in present}
        for item in items:
            self.store.log_event(item.id, "search", f"{client.name}: found as {found[item.id]}" if item.id in found
                                 else f"{client.name}: not found" + ("" if proven else " (the search is not proven)"))
        if not proven:
            why = (f"its search did not find {reference_module.display(control[0])}, which it accepted as "
                   f"{control[2]}" if control is not None else "no search has yet found a request it accepted")
            self._search_failed(client, Unsearchable(why))
            return {item.id: found.get(item.id, Unsearchable(why)) for item in items}
        self._search_failures.pop(client.name, None)
        self.store.set_search_state(client.name, verified=True, working=True)
        return {item.id: found.get(item.id, ABSENT) for item in items}

    @staticmethod
    def _references(records: list[dict]) -> dict[str, str]:
        """Our references in the council's descriptions, each with the council's id."""
        present: dict[str, str] = {}
        for record in records:
            request_id = as_text(record.get("service_request_id"))
            if request_id is None:
                continue
            for ref in reference_module.find_in(str(record.get("description") or "")):
                present.setdefault(ref, request_id)
        return present

    async def _search_proven(self, client: Open311Client, now: datetime) -> bool:
        """Whether this back office's search has found a request it accepted from here, since the
        catalogue was last fetched (which forgets it). Tried once on a recent one if not."""
        if self.store.backoffice_states().get(client.name, {}).get("search_verified_at"):
            return True
        control = self.store.proof_candidate(client.name, None, now - SEARCH_WINDOW_MAX)
        if control is None:
            return False
        server_now = client.server_now() or datetime.now(timezone.utc)
        records = await client.search(self.store.catalogue().council_code(control[1]),
                                      server_now - SEARCH_WINDOW_MAX, server_now + timedelta(hours=1))
        return control[0] in self._references(records)

    def _search_failed(self, client: Open311Client, error: Exception) -> None:
        """Say so where staff look (`assist sync status`); after a few failures in a row, forget how
        the server pages, so the next search learns it again."""
        if isinstance(error, Transient) and not error.reachable:
            return
        reason = error.reason if isinstance(error, Transient) else str(error)
        self.store.set_search_state(client.name, failing=reason, verified=False)
        failures = self._search_failures[client.name] = self._search_failures.get(client.name, 0) + 1
        if failures % SEARCH_RELEARN_AFTER == 0 and "requests" in client.paging:
            client.paging = {name: value for name, value in client.paging.items() if name != "requests"}
            client.paging_changed = True

    def _save_paging(self, client: Open311Client) -> None:
        if client.paging_changed:
            client.paging_changed = False
            self.store.set_search_state(client.name, mode=paging_to_json(client.paging))
            log.info("%s: %s", client.name, "; ".join(f"{name} {paging.describe()}"
                                                     for name, paging in sorted(client.paging.items())))

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

    async def _retry(self, item: Claimed, reason: str, report: DrainReport, *, maybe_sent: bool,
                     retry_after: float | None = None, server_error: bool | None = None,
                     event: tuple[str, str] | None = None) -> None:
        at_least = self.sync.backoff_base_seconds if maybe_sent else 0
        reason = self._clean(item, reason)
        kind, detail = event or ("retry", reason)
        due: list[datetime] = []
        await self._record(item, (kind, self._clean(item, detail)),
                           lambda: due.append(self.store.retry_later(
                               item.id, self.owner, reason, maybe_sent=maybe_sent, retry_after=retry_after,
                               at_least=at_least, server_error=server_error)),
                           lambda: log.info("%s: will try again at %s (%s)",
                                                   reference_module.display(item.reference),
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
            client.paging = {}  # learnt again with each catalogue, as is whether its search can be trusted
            try:
                fetched = await client.catalogue()
            finally:
                self._save_paging(client)
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
            notices.queue_status_text(self.store, submission_id, status, notes, settings=self.settings)
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
            self._last_purge = time.monotonic()
            purged = {**self.store.purge(), **{f"texts_{k}": v for k, v in retention.purge(self.store).items()}}
            if any(purged.values()):
                log.info("purged personal data: %s", ", ".join(f"{k} {v}" for k, v in purged.items() if v))
        return report

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
            waited = 0.0
            while waited < self.sync.poll_seconds and not stop.is_set():
                try:
                    asked = self.store.take_request("sync_now")
                except (StoreError, sqlite3.Error):
                    asked = False  # the round after the wait says what is wrong
                if asked:
                    self._last_status = float("-inf")
                    self.store.expedite()
                    break
                try:
                    await asyncio.wait_for(stop.wait(), timeout=0.5)
                except asyncio.TimeoutError:
                    waited += 0.5
