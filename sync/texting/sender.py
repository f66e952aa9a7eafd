"""Sending the queued texts: the worker's side of texting, and so one of the few places that calls out.

`TextSender.send_due()` claims due texts from the store (sync/texting/outbound.py: a lease, and `sending`
written before anything leaves), hands each to the provider chosen by `sms.provider` and records
what happened:

* `twilio` (default): Twilio's REST API through the twilio library's `Client`, from
  `twilio.from_number` or through the Messaging Service `twilio.messaging_service_sid`, with a
  status callback to the SMS service's `/sms/status` when `twilio.public_url` is set.
* `notify`: GOV.UK Notify through notifications-python-client, with a text message template
  whose whole content is `((body))`; our text goes in as that personalisation.

| the provider answers | the text | the number |
| --- | --- | --- |
| created (201) | `sent`, its id kept for delivery statuses | |
| Twilio 21610: the resident sent STOP | `failed` | opted out: never texted again until START |
| Twilio 21211, 21612, 21614, 21635; Notify 400 about the phone number | `failed` | cannot receive texts |
| 429, 5xx, no connection, an answer that is not JSON | back to `queued` after a backoff | |
| 401/403 (our credentials) | back to `queued`, retried every `sync.reprobe_seconds`, logged loudly | |
| any other 4xx | `failed`, with the provider's code | |

Delivery: Twilio calls the SMS service's `/sms/status` back. GOV.UK Notify can only be asked (a
kiosk has no address to be called back on), so `check_deliveries()` asks Notify for each sent
text's status, soon after sending and then less and less often (sync/texting/deliveries.py); Notify's
`permanent-failure` records the number as unable to receive texts, as Twilio's codes do, and its
`technical-failure` (never sent) sends the text again.

A text not sent within `sms.send_for_hours` is given up: a status text days late helps nobody.
Numbers and bodies are never logged; provider messages (which can quote the number) are not
stored, only their codes.

Each call runs in a thread (both client libraries are synchronous), with at most `concurrency`
at once; the store is only touched from the worker's own thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sync.config import Settings
from sync.scrub import scrub
from sync.texting.deliveries import SETTLED, deliveries_to_check, delivery_checked, record_delivery
from sync.texting.outbound import OutboundText, claim_texts, text_failed, text_retry, text_sent, text_states

if TYPE_CHECKING:
    from notifications_python_client.errors import HTTPError

    from sync.store import Store

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
NOTIFY_API = "https://api.notifications.service.gov.uk"
#: Twilio error codes for a number that cannot take texts: invalid, unroutable, not a mobile, a landline.
TWILIO_CANNOT_RECEIVE = {21211: "not a valid phone number", 21612: "cannot be reached by text",
                         21614: "not a mobile number", 21635: "a landline"}
TWILIO_OPTED_OUT = 21610
TWILIO_TOO_MANY = 20429
#: Texts asked about in one round at most (Notify allows 3,000 requests a minute).
DELIVERY_CHECKS_PER_ROUND = 200
_DIGITS = re.compile(r"\+?\d[\d ]{5,}\d")


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_configured: str | None = None
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | failed
    provider_id: str = ""  # the provider's id for a text it took
    provider_status: str | None = None
    error: str = ""
    number_problem: str | None = None  # opted_out | cannot_receive
    retry_after: float | None = None


def _masked(text: str, sent: OutboundText | None = None) -> str:
    """A provider's words as they may be stored and logged: what was sent (the number in any
    format, the text itself) taken out by sync.scrub, then any other long run of digits."""
    if sent is not None:
        text = scrub(str(text), [("phone", sent.number or ""), ("description", sent.body or "")])
    return _DIGITS.sub("[number]", str(text))[:200]


class TextSender:
    def __init__(self, store: Store, settings: Settings, *, owner: str | None = None, concurrency: int = 4,
                 twilio_base_url: str | None = None, notify_base_url: str | None = None) -> None:
        """`twilio_base_url` and `notify_base_url` replace the providers' API addresses (for a
        local stand-in in tests); production leaves them alone."""
        self.store = store
        self.settings = settings
        self.owner = owner or f"texts:{settings.device_id}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.concurrency = max(1, concurrency)
        self.twilio_base_url = (twilio_base_url or TWILIO_API).rstrip("/")
        self.notify_base_url = (notify_base_url or NOTIFY_API).rstrip("/")
        self._local = threading.local()
        self._clients: list[Any] = []
        self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="texts")
        self._warned_unconfigured = False
        logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

    # -- configuration ------------------------------------------------------------------------

    @property
    def provider(self) -> str:
        return self.settings.sms.provider

    def missing(self) -> str | None:
        """What is missing to send texts with the configured provider, or None."""
        if self.provider == "notify":
            notify = self.settings.notify
            needed = {"notify.api_key": notify.api_key, "notify.template_id": notify.template_id}
        else:
            twilio = self.settings.twilio
            needed = {"twilio.account_sid": twilio.account_sid, "twilio.auth_token": twilio.auth_token,
                      "twilio.from_number or twilio.messaging_service_sid":
                          twilio.messaging_service_sid or twilio.from_number}
        absent = [name for name, value in needed.items() if not value]
        return ", ".join(absent) if absent else None

    # -- the round ------------------------------------------------------------------------------

    async def send_due(self) -> SendReport:
        """Send every text that is due now; what fails passingly is rescheduled, not retried here."""
        report = SendReport()
        missing = self.missing()
        if missing:
            report.not_configured = missing
            if not self._warned_unconfigured and text_states(self.store)["queued"]:
                log.warning("texts are waiting but cannot be sent: set %s (sms.provider = %s)", missing, self.provider)
                self._warned_unconfigured = True
            return report
        lease = timedelta(seconds=self.settings.sync.lease_seconds)
        give_up = timedelta(hours=self.settings.sms.send_for_hours)
        while batch := claim_texts(self.store, self.owner, self.concurrency, lease=lease, give_up_after=give_up):
            loop = asyncio.get_running_loop()
            outcomes = await asyncio.gather(*(loop.run_in_executor(self._executor, self._deliver, text)
                                              for text in batch))
            for text, outcome in zip(batch, outcomes):
                self._record(text, outcome, report)
        return report

    async def check_deliveries(self) -> int:
        """Ask GOV.UK Notify how the texts it took are getting on, those due to be asked (see
        the module's notes); returns how many were asked about. Twilio calls back instead."""
        if self.provider != "notify" or self.missing():
            return 0
        due = deliveries_to_check(self.store, "notify", DELIVERY_CHECKS_PER_ROUND)
        if not due:
            return 0
        loop = asyncio.get_running_loop()
        found = await asyncio.gather(*(loop.run_in_executor(self._executor, self._notify_status, provider_id)
                                       for _text_id, provider_id, _sent_at in due))
        for (text_id, provider_id, sent_at), status in zip(due, found):
            if status:
                record_delivery(self.store, provider_id, status)
            if status not in SETTLED:
                delivery_checked(self.store, text_id, sent_at)
            log.info("text %s: Notify says %s", text_id, status or "nothing (asked again later)")
        return len(due)

    def _notify_status(self, notification_id: str) -> str | None:
        """Notify's status for one text (in a worker thread), or None if it could not be had."""
        from notifications_python_client.errors import APIError

        try:
            found = self._notify_client().get_notification_by_id(notification_id)
        except (APIError, AssertionError, OSError) as error:  # asked again later
            log.warning("could not ask Notify about a text's delivery (%s)",
                        getattr(error, "status_code", None) or type(error).__name__)
            return None
        status = str((found or {}).get("status") or "").strip().lower()[:40]
        return status or None

    def _notify_client(self) -> Any:
        from notifications_python_client.notifications import NotificationsAPIClient

        # A client per call: the library says it is not thread-safe, and it is cheap to make.
        # notifications-python-client ships py.typed but leaves its client unannotated (so: Any).
        return NotificationsAPIClient(  # type: ignore[no-untyped-call]
            self.settings.notify.api_key, base_url=self.notify_base_url, timeout=self.settings.sync.timeout_seconds)

    def _record(self, text: OutboundText, outcome: Outcome, report: SendReport) -> None:
        if outcome.kind == "sent":
            text_sent(self.store, text.id, self.owner, provider=self.provider, provider_id=outcome.provider_id,
                      provider_status=outcome.provider_status)
            log.info("text %s (%s) sent via %s as %s", text.id, text.kind, self.provider, outcome.provider_id)
            report.sent += 1
        elif outcome.kind == "retry":
            due = text_retry(self.store, text.id, self.owner, outcome.error, attempts=text.attempts,
                             retry_after=outcome.retry_after)
            log.info("text %s: %s; will try again at %s", text.id, outcome.error, due.strftime("%H:%M:%S"))
            report.retried += 1
            report.errors.append(outcome.error)
        else:
            text_failed(self.store, text.id, self.owner, outcome.error, number_problem=outcome.number_problem)
            log.warning("text %s not sent: %s", text.id, outcome.error)
            report.failed += 1
            report.errors.append(outcome.error)

    def _deliver(self, text: OutboundText) -> Outcome:
        """One call to the provider (in a worker thread): never raises."""
        if not text.number or not text.body:
            return Outcome("failed", error="nothing to send (the number or text was purged)")
        try:
            if self.provider == "notify":
                return self._notify(text)
            return self._twilio(text)
        except Exception as error:  # a bug or an unforeseen library error: keep the text, say what
            log.exception("text %s: unexpected error from the %s client", text.id, self.provider)
            return Outcome("retry", error=f"unexpected {type(error).__name__}")

    # -- Twilio -------------------------------------------------------------------------------

    def _twilio_client(self) -> Any:
        """This thread's Twilio client (the library's clients are not shared between threads)."""
        client = getattr(self._local, "twilio", None)
        if client is None:
            from twilio.http.http_client import TwilioHttpClient
            from twilio.rest import Client

            http = TwilioHttpClient(timeout=self.settings.sync.timeout_seconds)
            client = Client(self.settings.twilio.account_sid, self.settings.twilio.auth_token, http_client=http)
            client.api.base_url = self.twilio_base_url  # where Messages go: Twilio's API, or its stand-in
            self._local.twilio = client
            self._clients.append(client)
        return client

    def _twilio(self, text: OutboundText) -> Outcome:
        import requests
        from twilio.base.exceptions import TwilioRestException

        twilio = self.settings.twilio
        options = {"to": text.number, "body": text.body}
        if twilio.messaging_service_sid:
            options["messaging_service_sid"] = twilio.messaging_service_sid
        else:
            options["from_"] = twilio.from_number
        if self.settings.twilio.public_url:
            options["status_callback"] = self.settings.twilio.public_url.rstrip("/") + "/sms/status"
        try:
            message = self._twilio_client().messages.create(**options)
        except TwilioRestException as error:
            return self._twilio_error(error.status, error.code)
        except requests.RequestException as error:
            return Outcome("retry", error=f"could not reach Twilio ({type(error).__name__})")
        return Outcome("sent", provider_id=message.sid, provider_status=message.status)

    def _twilio_error(self, status: int, code: int | str | None) -> Outcome:
        if not isinstance(code, int):
            code = int(code) if code is not None and str(code).isdigit() else None
        where = f"Twilio {status}" + (f" error {code}" if code else "")
        if code == TWILIO_OPTED_OUT:
            return Outcome("failed", error=f"{where}: the resident has opted out (STOP)", number_problem="opted_out")
        if code in TWILIO_CANNOT_RECEIVE:
            return Outcome("failed", error=f"{where}: the number is {TWILIO_CANNOT_RECEIVE[code]}",
                           number_problem="cannot_receive")
        if status == 429 or code == TWILIO_TOO_MANY:
            return Outcome("retry", error=f"{where}: too many requests")
        if status >= 500:
            return Outcome("retry", error=f"{where}: Twilio had a problem")
        if status in (401, 403):
            log.error("Twilio refused our credentials (%s): check twilio.account_sid and twilio.auth_token; "
                      "texts wait and are retried every %s s", where, self.settings.sync.reprobe_seconds)
            return Outcome("retry", error=f"{where}: credentials refused",
                           retry_after=self.settings.sync.reprobe_seconds)
        return Outcome("failed", error=f"{where}: refused")

    # -- GOV.UK Notify ------------------------------------------------------------------------

    def _notify(self, text: OutboundText) -> Outcome:
        from notifications_python_client.errors import APIError, HTTPError, InvalidResponse

        notify = self.settings.notify
        try:
            response = self._notify_client().send_sms_notification(
                phone_number=text.number, template_id=notify.template_id, personalisation={"body": text.body},
                reference=text.dedupe_key, sms_sender_id=notify.sms_sender_id or None)
        except InvalidResponse:
            return Outcome("retry", error="Notify answered with something that is not JSON")
        except HTTPError as error:
            return self._notify_error(error, text)
        except APIError as error:  # pragma: no cover - the client raises HTTPError subclasses
            return Outcome("retry", error=f"Notify error {type(error).__name__}")
        except AssertionError:
            return Outcome("retry", error="notify.api_key is not a Notify API key",
                           retry_after=self.settings.sync.reprobe_seconds)
        notification_id = str((response or {}).get("id") or "")
        if not notification_id:
            return Outcome("retry", error="Notify answered without a notification id")
        return Outcome("sent", provider_id=notification_id, provider_status="created")

    def _notify_error(self, error: HTTPError, text: OutboundText | None = None) -> Outcome:
        status = error.status_code
        details = error.message if isinstance(error.message, list) else [{"error": "", "message": str(error.message)}]
        kinds = {str(item.get("error", "")) for item in details if isinstance(item, dict)}
        said = "; ".join(_masked(f"{item.get('error', '')}: {item.get('message', '')}".strip(": "), text)
                         for item in details if isinstance(item, dict))
        where = f"Notify {status}" + (f" ({said})" if said else "")
        if status == 400 and "ValidationError" in kinds and "phone_number" in said.lower():
            return Outcome("failed", error=where, number_problem="cannot_receive")
        if status == 429:
            return Outcome("retry", error=where)
        if status >= 500:
            return Outcome("retry", error=where)
        if status in (401, 403):
            log.error("GOV.UK Notify refused our API key (%s): check notify.api_key; texts wait and are retried "
                      "every %s s", where, self.settings.sync.reprobe_seconds)
            return Outcome("retry", error=where, retry_after=self.settings.sync.reprobe_seconds)
        return Outcome("failed", error=where)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=True)
        for client in self._clients:
            session = getattr(client.http_client, "session", None)
            if session is not None:
                session.close()
        self._clients.clear()
