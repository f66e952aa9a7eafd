"""Sending residents' follow-ups (sync.store.followups) once a round, exactly once:

* to a back office with `updates = "fixmystreet"`, as mySociety's `POST servicerequestupdates`
  (status `REOPEN` for not fixed, `OPEN` for a comment) with our own stable `update_id`
  (the reference and the follow-up's number, `K7Q4MBXP9Z-1`), so a resend is recognisable;
* otherwise, or once that back office has answered a real one with 404 or 405 (remembered per
  back office), as a new Open311 request for the same service and place whose description names
  the council's id of the original ("Follow-up to request 42: not fixed").

Write-ahead as in the outbox: `sending` is recorded before the POST and the outcome after. A
follow-up whose answer was lost is looked for (its update by `update_id`, its new request by the
tag in its description) before anything is sent again, and held for staff where it cannot be:
servers are not known to be idempotent on update_id (../shared/reference/open311.md).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sync.config import DEFAULT_BACKOFFICE, Settings
from sync.open311.client import Open311Client
from sync.open311.form import Fields, request_fields
from sync.open311.formats import as_text, iso_z
from sync.open311.outcomes import NotFound, Refused, Transient, Unauthorised, Unsearchable
from sync.scrub import scrub
from sync.store import Claimed, Store
from sync.store import db as db_module
from sync.store.followups import Due, FollowUps, tag, update_id

#: The follow-ups' own log, as before the sender had a module of its own.
log = logging.getLogger("sync.open311.followups")

#: FixMyStreet's extended status for each kind (on an open request).
UPDATE_STATUS = {"not_fixed": "REOPEN", "comment": "OPEN"}
#: What the council reads, in English (the back office's language), with no personal data.
SUMMARY = {"not_fixed": "not fixed", "comment": "comment"}
#: Answers to a real POST servicerequestupdates that mean the endpoint is not there.
NO_UPDATES = (404, 405)
#: How far back (beyond the first attempt) a lost follow-up is looked for.
SEARCH_SLACK = timedelta(days=1)


@dataclass
class SendReport:
    sent: int = 0
    fallback: int = 0  # of those sent, as new requests
    needs_attention: int = 0
    retried: int = 0
    found: int = 0  # ambiguous ones found at the council, not sent again
    outcomes: dict[str, str] = field(default_factory=dict)  # label -> outcome, for tests and logs


@dataclass(frozen=True)
class Found:
    """A lost follow-up found at the council: how it went, and the council's id for it."""

    route: str
    council_id: str | None


class FollowUpSender:
    """Sends due follow-ups; the worker calls `send_due()` once a round with its own clients."""

    def __init__(self, store: Store, settings: Settings, clients: dict[str, Open311Client], *,
                 owner: str = "followups", batch_size: int = 20) -> None:
        self.store = store
        self.settings = settings
        self.clients = clients
        self.owner = owner
        self.batch_size = batch_size
        self.followups = FollowUps(store)

    def _client(self, item: Due) -> Open311Client | None:
        return self.clients.get(item.backoffice) or self.clients.get(DEFAULT_BACKOFFICE)

    def _route(self, client: Open311Client) -> str:
        wanted = client.settings.updates == "fixmystreet"
        return "update" if wanted and not self.followups.updates_missing(client.name) else "request"

    async def send_due(self) -> SendReport:
        """Send every follow-up that is due, one at a time (they are few); never raises for a
        back office's failure: each outcome is recorded on its follow-up."""
        report = SendReport()
        seen: set[int] = set()
        while batch := self.followups.claim(self.owner, self.batch_size, exclude=seen):
            for item in batch:
                seen.add(item.id)
                try:
                    await self._attempt(item, report)
                except db_module.StoreError as error:
                    log.error("%s: outcome not recorded (%s); it will be looked for", item.label, error)
        return report

    async def _attempt(self, item: Due, report: SendReport) -> None:
        """Send one, turning every failure into an outcome recorded on it."""
        try:
            await self._send(item, report)
        except Transient as error:
            self._retry(item, error.reason, report, maybe_sent=error.maybe_sent or item.state == "sending",
                        retry_after=error.retry_after)
        except Unauthorised as error:
            self._retry(item, f"the back office refused our API key ({error})", report,
                        maybe_sent=item.state == "sending")
        except db_module.StoreError:
            raise
        except Exception as error:  # one bad follow-up must not stop the worker's round
            log.error("%s: could not be sent (%s); it will be looked for", item.label, type(error).__name__)
            self._retry(item, f"unexpected {type(error).__name__}", report, maybe_sent=True)

    def _retry(self, item: Due, reason: str, report: SendReport, *, maybe_sent: bool,
               retry_after: float | None = None) -> None:
        reason = self._scrub(item, reason)
        due = self.followups.retry_later(item, self.owner, reason, maybe_sent=maybe_sent, retry_after=retry_after)
        report.retried += 1
        report.outcomes[item.label] = "retried"
        log.info("%s: will try again at %s (%s)", item.label, due.strftime("%H:%M:%S"), reason)

    def _held(self, item: Due, reason: str, report: SendReport) -> None:
        reason = self._scrub(item, reason)
        self.followups.mark_needs_attention(item, self.owner, reason)
        report.needs_attention += 1
        report.outcomes[item.label] = "needs_attention"
        log.warning("%s: held for staff: %s", item.label, reason)

    def _sent(self, item: Due, council_id: str | None, route: str, report: SendReport, *, found: bool = False) -> None:
        self.followups.mark_sent(item, self.owner, council_id, route)
        report.sent += 1
        report.fallback += route == "request"
        report.found += found
        report.outcomes[item.label] = f"{'found' if found else 'sent'} as {route}"
        log.info("%s: %s the council as %s %s", item.label, "found at" if found else "sent to",
                 "update" if route == "update" else "new request", council_id or "(no id given)")

    @staticmethod
    def _scrub(item: Due, text: str) -> str:
        """An error as it may be stored and logged: what was sent of the resident's taken out of it
        (a council may quote what it refused; sync.scrub), and short."""
        original = item.original or {}
        attributes = original.get("attributes") or {}
        sent = [("description", item.comment or "")]
        sent += [(key, str(value)) for key, value in (original.get("location") or {}).items() if value is not None]
        sent += [(f"attribute[{code}]", str(value)) for code, value in attributes.items()
                 if not isinstance(value, list)]
        sent += [(f"attribute[{code}]", str(one)) for code, value in attributes.items()
                 if isinstance(value, list) for one in value]
        return scrub(text, sent)[:300]

    async def _send(self, item: Due, report: SendReport) -> None:
        client = self._client(item)
        if client is None:
            self._held(item, f"no back office {item.backoffice!r} configured", report)
            return
        if item.state == "sending" and await self._settled_by_look_up(item, client, report):
            return  # the answer was lost: it was looked for before anything is sent again
        if self._route(client) == "update" and await self._sent_as_update(item, client, report):
            return
        if not item.original.get("location"):
            self._held(item, "the original request's place is no longer kept, so it cannot be sent as a new "
                             "request", report)
            return
        self.followups.mark_sending(item, self.owner, "request")
        created = await client.create(self._request_fields(item))
        if isinstance(created, Refused):
            self._held(item, f"new request refused: {created.status}: {created.message}", report)
            return
        self._sent(item, created.service_request_id or created.token, "request", report)

    async def _settled_by_look_up(self, item: Due, client: Open311Client, report: SendReport) -> bool:
        """A follow-up whose answer was lost: found at the council (sent), or held where the
        council cannot be searched; whether that settled it (else it is not there: send it)."""
        try:
            found = await self._look_for(item, client)
        except Unsearchable:
            self._held(item, "it may have reached the council, whose answer was lost, and this back office "
                             "cannot be searched for it: check there before sending it again", report)
            return True
        if found is None:
            return False
        self._sent(item, found.council_id, found.route, report, found=True)
        return True

    async def _sent_as_update(self, item: Due, client: Open311Client, report: SendReport) -> bool:
        """POST servicerequestupdates; False where the back office turns out to have none (404/405,
        then remembered): nothing was made, so the same follow-up goes as a new request at once."""
        self.followups.mark_sending(item, self.owner, "update")
        outcome = await client.post_update(self._update_fields(item))
        if isinstance(outcome, Refused) and outcome.status in NO_UPDATES:
            self.followups.remember_updates_missing(client.name)
            log.warning("back office %r has no servicerequestupdates (%d): follow-ups go as new requests",
                        client.name, outcome.status)
            return False
        if isinstance(outcome, Refused):
            self._held(item, f"update refused: {outcome.status}: {outcome.message}", report)
        else:
            self._sent(item, outcome, "update", report)
        return True

    def _description(self, item: Due, *, fallback: bool) -> str:
        head = (f"Follow-up to request {item.service_request_id}: {SUMMARY[item.kind]}" if fallback
                else f"Resident's follow-up: {SUMMARY[item.kind]}")
        parts = [head, item.comment, tag(item.reference, item.number)]
        return "\n\n".join(part for part in parts if part)

    def _update_fields(self, item: Due) -> Fields:
        status = UPDATE_STATUS[item.kind]
        return [("service_request_id", item.service_request_id), ("update_id", update_id(item.reference, item.number)),
                ("status", status), ("updated_datetime", iso_z(item.created_at)),
                ("description", self._description(item, fallback=False))]

    def _request_fields(self, item: Due) -> Fields:
        """A new request for the same service and place, made as the worker makes any (its
        fields, its reference tag naming the original), with no contact details."""
        claimed = Claimed(id=item.submission_id, reference=item.reference, state="sending",
                          service_code=item.service_code, backoffice=item.backoffice, attempts=item.attempts,
                          token=None, created_at=item.created_at, first_sent_at=item.first_sent_at,
                          device_id=item.device_id, contact=None,
                          payload={**item.original, "description": self._description(item, fallback=True)})
        return request_fields(claimed, self.settings.kiosk, self.store.catalogue())

    async def _look_for(self, item: Due, client: Open311Client) -> Found | None:
        """A lost follow-up found at the council, or None if it is not there; Unsearchable where
        the server cannot be asked (held for staff, never posted again blindly). A look-up that
        only failed for now raises Transient."""
        server_now = client.server_now() or datetime.now(timezone.utc)
        start = min((item.first_sent_at or item.created_at) - SEARCH_SLACK, server_now - SEARCH_SLACK)
        end = server_now + timedelta(hours=1)
        try:
            if item.route == "update":
                return await self._find_update(item, client, start, end)
            return await self._find_request(item, client, start, end)
        except NotFound:
            raise Unsearchable("the council's server cannot list what it was sent") from None

    async def _find_update(self, item: Due, client: Open311Client, start: datetime, end: datetime) -> Found | None:
        wanted, marker = update_id(item.reference, item.number), tag(item.reference, item.number)
        for update in await client.updates(start, end):
            if as_text(update.get("update_id")) == wanted or marker in str(update.get("description") or ""):
                return Found("update", as_text(update.get("update_id")))
        return None

    async def _find_request(self, item: Due, client: Open311Client, start: datetime, end: datetime) -> Found | None:
        """The new request carrying this follow-up's tag, searched for under the council's code
        for the service, which is the code it was posted with (sync.catalogue.to_council)."""
        marker = tag(item.reference, item.number)
        council_code = self.store.catalogue().council_code(item.service_code)
        for record in await client.search(council_code, start, end):
            if marker in str(record.get("description") or ""):
                return Found("request", as_text(record.get("service_request_id")))
        return None
