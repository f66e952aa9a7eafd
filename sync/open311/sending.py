"""Sending one batch of claimed submissions: lanes of sends per back office, the write-ahead
`sending` mark before each POST, and every outcome recorded as its answer arrives.

Outcomes: accepted, a token to poll, refused (a person must look), a bad API key (pause that back
office, fail nothing), or a passing failure (retry with backoff). A submission whose request may
have arrived without an answer is never sent blindly again: it is looked for first
(sync.open311.reconcile) and the id found is adopted.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from datetime import datetime
from typing import Awaitable, Callable

from sync import reference as reference_module
from sync.catalogue import Catalogue
from sync.config import DEFAULT_BACKOFFICE, Settings
from sync.open311.client import Open311Client
from sync.open311.commit import GroupCommit
from sync.open311.form import Fields, SentForm, list_keys, place_for, request_fields, scrubbed
from sync.open311.outcomes import Created, Refused, Transient, Unauthorised, Unsearchable
from sync.open311.reachability import Reachability
from sync.open311.reconcile import ABSENT, GIVE_UP_REASON, RECONCILED_NOTE, Lookup, Reconciler
from sync.open311.recording import Counter, DrainReport, Recorder
from sync.open311.refusals import Refusals
from sync.places import gazetteer
from sync.store import Claimed, Store, TransitionError
from sync.store.db import StoreError

#: The worker's own log, which operators (and tests) follow.
log = logging.getLogger("sync.open311.worker")

Mark = asyncio.Future[object]


class Sender:
    """Sends batches for a worker, which owns the clients, the store and the slower duties."""

    def __init__(self, store: Store, settings: Settings, clients: dict[str, Open311Client], *, owner: str,
                 reachability: Reachability, refresh: Callable[[], Awaitable[Catalogue]]) -> None:
        self.store = store
        self.settings = settings
        self.sync = settings.sync
        self.clients = clients
        self.owner = owner
        self.reachability = reachability
        self.commit = GroupCommit(store)
        self.recorder = Recorder(store, self.commit)
        self.reconciler = Reconciler(store, settings.sync)
        self.places = gazetteer.Gazetteer(store.db.places)  # its street list built once, not once a send
        self._refresh = refresh
        # What one batch knows, set again by each `send`:
        self._in_force = store.catalogue()  # read once a batch, not once a send
        self._has_gazetteer = False
        self._forms: dict[int, SentForm] = {}  # the forms posted, to scrub the council's words against
        self._refusals = Refusals(refresh)

    def client_for(self, item: Claimed) -> Open311Client:
        return self.clients.get(item.backoffice) or self.clients[DEFAULT_BACKOFFICE]

    async def send(self, batch: list[Claimed], report: DrainReport) -> None:
        """Per batch: the ambiguous submissions are looked for at the council with one search per
        back office and service; then each is sent with bounded concurrency, marked `sending`
        just before its own POST leaves and its outcome recorded as soon as its answer arrives."""
        self._refusals = Refusals(self._refresh)
        self._in_force = self.store.catalogue()
        self._has_gazetteer = self.places.count() > 0
        self._forms = {}
        lookups = await self.reconciler.look_for([item for item in batch if item.ambiguous], self.client_for)
        waiting: dict[str, collections.deque[Claimed]] = {}
        for item in batch:
            waiting.setdefault(self.client_for(item).name, collections.deque()).append(item)
        ahead = self.sync.concurrency >= 2  # each lane may mark its next send while this one is out
        lanes = max(1, self.sync.concurrency // 2) if ahead else 1
        await asyncio.gather(*(self._lane(queue, report, lookups, ahead)
                               for queue in waiting.values() for _ in range(min(lanes, len(queue)))))
        await self.recorder.settled()

    async def _lane(self, queue: collections.deque[Claimed], report: DrainReport, lookups: dict[int, Lookup],
                    ahead: bool) -> None:
        """Sends to one back office, one after another. While one is out, the next new one is
        marked `sending` (its fsync overlaps the wait for the council's answer), so a lane holds
        at most two marks without an outcome and `sync.concurrency // 2` lanes stay within
        `sync.concurrency`."""
        with self.commit.lane():
            marked: tuple[Claimed, Mark] | None = None
            while queue or marked:
                item, mark = marked if marked else (queue.popleft(), None)
                marked = None
                if ahead and queue and queue[0].state == "queued":
                    following = queue.popleft()
                    marked = (following, self.commit(self._mark(following)))
                await self._handle(item, report, lookups.get(item.id, ABSENT), mark)

    async def _handle(self, item: Claimed, report: DrainReport, lookup: Lookup, mark: Mark | None) -> None:
        client = self.client_for(item)
        try:
            await self._send(item, client, report, lookup, mark)
        except Unauthorised as error:
            self._pause(client.name, self._clean(item, f"the council refused our API key ({error})"), report)
            self._retry(item, f"{client.name} refused our API key", report, maybe_sent=item.ambiguous, retry_after=0)
        except Transient as error:
            self.reachability.note(client.name, error.reachable, self._clean(item, error.reason))
            self._after_transient(item, client, error, report, posted=False)
        except (TransitionError, StoreError) as error:  # our lease lapsed, or the store could not write
            log.warning("%s: %s", reference_module.display(item.reference), error)
        except Exception as error:  # a bug must cost one submission a retry, never the worker
            log.error("%s: unexpected %s; it will be tried again", reference_module.display(item.reference),
                      type(error).__name__, exc_info=True)
            self._retry(item, f"unexpected {type(error).__name__}", report, maybe_sent=True)

    def _clean(self, item: Claimed, words: str) -> str:
        """`scrubbed`, with the form posted for `item` in this batch where it got that far."""
        return scrubbed(item, words, self._forms.get(item.id))

    def _mark(self, item: Claimed) -> Callable[[], None]:
        """The write-ahead of one send: `sending`, and the outbox event that says so."""
        return self.recorder.logged(item, ("sending", f"to {self.client_for(item).name}"),
                                    lambda: self.store.mark_sending(item.id, self.owner))

    async def _send(self, item: Claimed, client: Open311Client, report: DrainReport, lookup: Lookup,
                    mark: Mark | None) -> None:
        if item.state == "awaiting_id":
            await self._poll_token(item, client, report)
            return
        if item.ambiguous and self._settled_by_search(item, client, report, lookup):
            return
        if client.name in report.paused:  # paused while this one waited its turn: not sent
            await self._hold_back(item, client, report, mark)
            return
        fields = self._form(item, client)
        await self.commit.wait_for(mark if mark is not None else self.commit(self._mark(item)))
        try:
            outcome = await client.create(fields)
        except Transient as error:
            self.reachability.note(client.name, error.reachable, self._clean(item, error.reason))
            self._after_transient(item, client, error, report, posted=True)
            return
        self.reachability.note(client.name, True)
        if isinstance(outcome, Refused):
            await self._refused(item, client, outcome, fields, report)
        else:
            self._created(item, client, outcome, report)

    def _form(self, item: Claimed, client: Open311Client) -> Fields:
        """The form to post, kept (with the API key it carries) to scrub the council's words."""
        places = self.places if self._has_gazetteer else None
        fields = request_fields(item, self.settings.kiosk, self._in_force,
                                place_for(item, self.settings.kiosk, places))
        secret = [("api_key", client.settings.api_key)] if client.settings.api_key else []
        self._forms[item.id] = SentForm(fields + secret, list_keys(self._in_force, item.service_code))
        return fields

    def _settled_by_search(self, item: Claimed, client: Open311Client, report: DrainReport, lookup: Lookup) -> bool:
        """An ambiguous submission: adopted where the search found it, held while it cannot be
        looked for; whether that settled it (else it was proved absent, and is sent)."""
        failure = lookup.failure
        if isinstance(failure, Unsearchable):
            self._unsearchable(item, client, str(failure), report, answered=True)
            return True
        if isinstance(failure, Unauthorised):
            raise Unauthorised(str(failure))
        if isinstance(failure, Transient):
            if failure.reachable:
                self._unsearchable(item, client, failure.reason, report, answered=True)
                return True
            self.store.unsearchable(item.id, answered=False)
            raise Transient(f"looking for it at the council: {failure.reason}", maybe_sent=True,
                            reachable=False, retry_after=failure.retry_after)
        if lookup.council_id is None:
            return False
        council_id = lookup.council_id
        self._outcome(item, ("found", f"at the council as {council_id}"),
                      lambda: self.store.mark_accepted(item.id, self.owner, council_id, RECONCILED_NOTE),
                      f"found at {client.name} as {council_id} after a lost answer; not sent again", report,
                      "accepted", "reconciled")
        return True

    async def _hold_back(self, item: Claimed, client: Open311Client, report: DrainReport, mark: Mark | None) -> None:
        if mark is None:
            self.store.release(item.id, self.owner)
        else:  # marked ahead, never sent: back to the queue, nothing counted against it
            await self.commit.wait_for(mark)
            self._retry(item, f"{client.name} is paused", report, maybe_sent=False, retry_after=0)

    def _outcome(self, item: Claimed, event: tuple[str, str], write: Callable[[], object], said: str,
                 report: DrainReport, *counters: Counter, warn: bool = False) -> None:
        """An outcome recorded; `said` is logged by reference once it is written."""
        ref = reference_module.display(item.reference)
        level = logging.WARNING if warn else logging.INFO
        self.recorder.record(item, event, write, lambda: log.log(level, "%s: %s", ref, said), report, *counters)

    async def _refused(self, item: Claimed, client: Open311Client, outcome: Refused, fields: Fields,
                       report: DrainReport) -> None:
        if await self._refusals.about_the_key(client, outcome, fields):
            self._pause(client.name, self._clean(item, f"the council refused our request for a reason that names "
                                                      f"none of its fields, as it refuses one with none "
                                                      f"({outcome.status}: {outcome.message})"), report)
            self._retry(item, f"{client.name} refused our API key", report, maybe_sent=False, retry_after=0)
            return
        reason = self._clean(item, await self._refusals.reason(item, outcome))
        self._outcome(item, ("refused", reason), lambda: self.store.mark_needs_attention(item.id, self.owner, reason),
                      f"refused by {client.name}: {reason}", report, "needs_attention", warn=True)

    def _created(self, item: Claimed, client: Open311Client, outcome: Created, report: DrainReport) -> None:
        if outcome.service_request_id is not None:
            request_id = outcome.service_request_id
            self._outcome(item, ("accepted", f"as {request_id}"),
                          lambda: self.store.mark_accepted(item.id, self.owner, request_id, outcome.notice),
                          f"accepted by {client.name} as {request_id}", report, "accepted")
            return
        token = str(outcome.token)
        self._outcome(item, ("token", f"id to follow ({token})"),
                      lambda: self.store.mark_awaiting_id(item.id, self.owner, token),
                      f"taken by {client.name}, id to follow (token {outcome.token})", report, "awaiting")

    def _after_transient(self, item: Claimed, client: Open311Client, error: Transient, report: DrainReport, *,
                         posted: bool) -> None:
        """A passing failure. A 5xx to this submission's own POST, `sync.poison_attempts` times in a
        row while the back office accepts others, is no outage: it goes to staff, maybe sent."""
        if posted and error.server_error:
            count, since = self.store.server_errors(item.id)
            if count + 1 >= self.sync.poison_attempts and since is not None and \
                    self.store.accepted_since(client.name, since):
                reason = self._clean(item, f"the council answered {error.reason} to this request "
                                           f"{count + 1} times in a row while accepting others; it may be at the "
                                           "council: check with the council, then resolve it")
                self._outcome(item, ("poison", reason),
                              lambda: self.store.mark_needs_attention(item.id, self.owner, reason, maybe_sent=True),
                              reason, report, "needs_attention", warn=True)
                return
        self._retry(item, error.reason, report, maybe_sent=error.maybe_sent or item.ambiguous,
                    retry_after=error.retry_after, server_error=error.server_error if posted else None)

    def _unsearchable(self, item: Claimed, client: Open311Client, why: str, report: DrainReport, *,
                      answered: bool) -> None:
        """An ambiguous submission that could not be looked for is never sent blindly. It waits;
        once its back office has answered but could not be searched for
        `sync.reconcile_give_up_hours`, it goes to staff, maybe sent."""
        waited = self.store.unsearchable(item.id, answered=answered)
        if waited >= self.sync.reconcile_give_up_hours * 3600:
            why = self._clean(item, why)
            self._outcome(item, ("gave_up", why),
                          lambda: self.store.mark_needs_attention(item.id, self.owner, GIVE_UP_REASON, maybe_sent=True),
                          f"{GIVE_UP_REASON} ({why})", report, "needs_attention", warn=True)
            return
        self._retry(item, f"sent, but the answer was lost and {client.name} cannot be searched yet ({why})",
                    report, maybe_sent=True, event=("unsearchable", why))

    async def _poll_token(self, item: Claimed, client: Open311Client, report: DrainReport) -> None:
        request_id = await client.token(str(item.token))
        self.reachability.note(client.name, True)
        if request_id is None:
            self._retry(item, "the council has not given an id yet", report, maybe_sent=True)
            return
        self._outcome(item, ("accepted", f"token {item.token} became {request_id}"),
                      lambda: self.store.mark_accepted(item.id, self.owner, request_id),
                      f"token {item.token} became {request_id}", report, "accepted")

    def _retry(self, item: Claimed, reason: str, report: DrainReport, *, maybe_sent: bool,
               retry_after: float | None = None, server_error: bool | None = None,
               event: tuple[str, str] | None = None) -> None:
        at_least = self.sync.backoff_base_seconds if maybe_sent else 0
        reason = self._clean(item, reason)
        kind, detail = event or ("retry", reason)
        due: list[datetime] = []
        ref = reference_module.display(item.reference)
        self.recorder.record(item, (kind, self._clean(item, detail)),
                             lambda: due.append(self.store.retry_later(
                                 item.id, self.owner, reason, maybe_sent=maybe_sent, retry_after=retry_after,
                                 at_least=at_least, server_error=server_error)),
                             lambda: log.info("%s: will try again at %s (%s)", ref, due[0].strftime("%H:%M:%S"),
                                              reason), report, "retried")

    def _pause(self, name: str, reason: str, report: DrainReport) -> None:
        """Stop sending to a back office that refuses our key; staff are told how to resume it."""
        if name not in report.paused:
            self.store.set_backoffice_state(name, reachable=True, error=reason, paused=True, paused_reason=reason)
            log.error("PAUSED sending to back office %r: %s. Nothing is lost; fix its api_key, then run "
                      "`assist sync resume`. Trying again every %s s.", name, reason, self.sync.reprobe_seconds)
        report.paused.add(name)
