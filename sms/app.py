"""The SMS web service: Twilio's webhooks, and a health check.

    POST /sms/inbound   Twilio's incoming-message webhook: answered with TwiML
    POST /sms/status    delivery status callbacks for the texts the worker sends
    GET  /healthz       process and database health, and the back office's last known reachability

Every webhook must carry a valid `X-Twilio-Signature`, checked with twilio's RequestValidator
against `twilio.public_url` (the public base URL, with these paths appended), never against the
URL the request arrived on, which is wrong behind a TLS-terminating proxy. Anything unsigned or
wrongly signed gets 403.

Messages are taken in batches (group commit): those that arrive while the store is busy go
together into the next write transaction, each in its own savepoint, and every reply is sent
only once its batch is committed (sms/bot.py). The store is used from the event loop's own
thread: a step is tens of microseconds of SQLite and a little Python, and handing it to another
thread cost more (thread switches, the GIL) than it saved; the SQLite busy timeout (5 s) bounds
any wait for another process's write, well inside Twilio's 15 s. One process takes a store's
inbound texts (one uvicorn worker): the bot keeps what it knows of recent numbers in memory
(sms/memory.py), and notices, and forgets it, when anything else writes to the store.

Nothing a resident sends can cause a 5xx: a body too large for a webhook is refused with 413, a
bad request with 400, and anything unexpected gets a polite TwiML apology (logged with its
MessageSid, never the number or the words). This module makes no outbound calls.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import sqlite3
from contextlib import asynccontextmanager
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.twiml.messaging_response import MessagingResponse

from sms import templates as tpl
from sms.bot import MIXED, Bot, Inbound, Reply
from sync.config import Settings
from sync.store import health
from sync.store.db import StoreError, describe_error
from sync.texting import deliveries, numbers, outbound

log = logging.getLogger(__name__)

INBOUND_PATH = "/sms/inbound"
STATUS_PATH = "/sms/status"
#: Twilio's form posts are a few kilobytes (1,600 characters of body at most); anything much
#: larger is not from Twilio and is refused unread.
MAX_REQUEST_BYTES = 64 * 1024
TWIML = "application/xml"
#: Shared replies' TwiML kept at most (questions, menus and help in every language fit easily).
SHARED_TWIML_LIMIT = 2048
#: Pages of write-ahead log (4 KiB each) the webhook's connection lets grow before it checkpoints
#: (SQLite's default is 1,000): the log file stays at most about 40 MB.
WAL_CHECKPOINT_PAGES = 10_000


class TooLarge(Exception):
    pass


def _unquote(part: str) -> str:
    """One name or value of a urlencoded form: "+" a space, %XX a byte of UTF-8 (parse_qsl's way)."""
    if "%" in part or "+" in part:
        return unquote(part.replace("+", " "), errors="replace")
    return part


class Form:
    """A posted form as a multi-dict: every value of a repeated field is kept (Twilio signs them
    all), `getall` is what twilio's RequestValidator asks a multi-dict for, and `get` the first.

    Read as urllib's parse_qsl(keep_blank_values=True) reads it (tests/sms/test_sms_webhook.py
    holds the two equal) in half its time: Twilio posts a dozen fields with every message, most
    of them with nothing to unquote, and parse_qsl's generality cost 5 us a message."""

    __slots__ = ("_values",)

    def __init__(self, body: bytes) -> None:
        values: dict[str, list[str]] = {}
        for field in body.decode("utf-8", errors="replace").split("&"):
            if field:
                name, _, value = field.partition("=")
                values.setdefault(_unquote(name), []).append(_unquote(value))
        self._values = values

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def getall(self, name: str) -> list[str]:
        return self._values[name]

    def get(self, name: str, default=None):
        found = self._values.get(name)
        return found[0] if found else default


def twiml(text: str) -> str:
    """The reply as TwiML, built by twilio's MessagingResponse."""
    response = MessagingResponse()
    if text:
        response.message(text)
    return str(response)


class Batcher:
    """Group commit: inbound messages that arrive while the store is busy are taken together in
    the next batch (one transaction, one commit), so the store keeps up with many concurrent
    webhooks. At low load a batch is one message and nothing waits."""

    def __init__(self, service: "SmsService", max_batch: int = 64) -> None:
        self.service = service
        self.max_batch = max_batch
        self.pending: list[tuple[Inbound, asyncio.Future]] = []
        self.draining = False

    async def submit(self, message: Inbound):
        future = asyncio.get_running_loop().create_future()
        self.pending.append((message, future))
        if not self.draining:
            self.draining = True
            asyncio.get_running_loop().create_task(self.drain())
        return await future

    async def drain(self) -> None:
        try:
            while self.pending:
                for _ in range(3):  # let requests already arrived be read and join this batch
                    await asyncio.sleep(0)
                batch, self.pending = self.pending[:self.max_batch], self.pending[self.max_batch:]
                try:
                    results = await self.service.run(self.service.bot.handle_many, [item for item, _ in batch])
                except (StoreError, sqlite3.Error) as error:  # busy, full, unusable: one line, no traceback
                    log.warning("a batch of %d message(s) could not be saved (%s); apologised", len(batch),
                                describe_error(error))
                    results = [self.service.bot.apology() if self.service.bot else None] * len(batch)
                except Exception:
                    log.exception("a batch of %d message(s) could not be handled; apologised", len(batch))
                    results = [self.service.bot.apology() if self.service.bot else None] * len(batch)
                for (_item, future), result in zip(batch, results):
                    if not future.done():
                        future.set_result(result)
        finally:
            self.draining = False


class SmsService:
    """What the app holds: the store, the bot, the validator and the batcher."""

    def __init__(self, settings: Settings, store=None) -> None:
        self.settings = settings
        self.public_url = settings.twilio.public_url.rstrip("/")
        self.validator = RequestValidator(settings.twilio.auth_token)
        self._own_store = store is None
        self.store = store
        self.batcher = Batcher(self)
        self.bot: Bot | None = None  # made by open(), with the store
        self.shared_twiml: dict[str, str] = {}

    def open(self) -> None:
        if self.store is None:
            from sync.store import Store

            self.store = Store.open(self.settings)
        if self.bot is None:
            self.bot = Bot(self.store, self.settings)
        numbers.number_key(self.store)  # made once, up front
        # The webhook is the store's busiest writer, and most of what it writes (conversations, rate
        # counts, recent claims) is written again within seconds: checkpointing the write-ahead log
        # less often copies each such page to the database once instead of many times.
        self.store.db.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")

    async def run(self, function, *args):
        """Store work, on the event loop's thread (see the module's notes)."""
        return function(*args)

    def close(self) -> None:
        if self._own_store and self.store is not None:
            self.store.close()
            self.store = None

    # -- requests ---------------------------------------------------------------------------------

    def reply_twiml(self, reply: Reply) -> str:
        """The reply's TwiML. Most replies are questions, menus and help, the same for everyone
        (Reply.shared): their TwiML is kept, as building it is a tenth of a message's time. Any
        other reply, which may carry a resident's place, words or reference, is built afresh and
        forgotten, so nothing personal outlives the purge in this process's memory."""
        if not reply.shared:
            return twiml(reply.text)
        found = self.shared_twiml.get(reply.text)
        if found is None:
            if len(self.shared_twiml) >= SHARED_TWIML_LIMIT:
                self.shared_twiml.clear()
            found = self.shared_twiml[reply.text] = twiml(reply.text)
        return found

    async def read_form(self, request: Request) -> Form:
        declared = request.headers.get("content-length", "")
        if declared.isdigit():  # Twilio's posts say how long they are: refused unread if too long
            if int(declared) > MAX_REQUEST_BYTES:
                raise TooLarge()
            body = await request.body()
        else:
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_REQUEST_BYTES:
                    raise TooLarge()
        return Form(bytes(body))

    def signed(self, request: Request, path: str, form: Form) -> bool:
        signature = request.headers.get("x-twilio-signature", "")
        if not signature or not self.settings.twilio.auth_token:
            return False
        query = request.scope.get("query_string", b"").decode("latin-1")
        url = self.public_url + path + (f"?{query}" if query else "")
        algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings", ""))
        try:
            # The URL as configured first (one HMAC); then the validator's own check, which also
            # tries the URL with and without its port, as Twilio's signing is inconsistent there.
            if hmac.compare_digest(self.validator.compute_signature(url, form, algorithm), signature):
                return True
            return self.validator.validate(url, form, signature, algorithm)
        except (ValueError, TypeError, UnicodeError):
            return False


def _xml(text: str, status: int = 200) -> Response:
    return Response(text, status_code=status, media_type=TWIML)


def create_app(settings: Settings, *, store=None, own_process: bool = False) -> Starlette:
    """The ASGI app. With `store`, that store is used (and left open); without, one is opened
    at start-up from the settings and closed at shutdown.

    `own_process`: the app is all this process serves (`assist sms serve`). Then everything made
    by the time it has started (modules, translations, the catalogue, the bot) is frozen out of
    the garbage collector's reach: it lives as long as the process, and every full collection
    would otherwise walk all of it again, a pause of tens of milliseconds every few thousand
    messages (about a tenth of the webhook's time in all; bench/bench_sms.py)."""
    service = SmsService(settings, store)

    async def inbound(request: Request) -> Response:
        try:
            form = await service.read_form(request)
        except TooLarge:
            return _xml(twiml(""), 413)
        except Exception:  # a client that went away mid-body, and the like
            return _xml(twiml(""), 400)
        if not service.signed(request, INBOUND_PATH, form):
            log.warning("refused an inbound webhook without a valid signature")
            return Response("Forbidden", status_code=403, media_type="text/plain")
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()[:64]
        sender = (form.get("From") or "").strip()[:64]
        if not sid or not sender:
            return _xml(twiml(""), 400)
        try:
            media = int(form.get("NumMedia") or 0)
        except ValueError:
            media = 0
        message = Inbound(sid=sid, sender=sender, body=form.get("Body") or "", num_media=media)
        reply = await service.batcher.submit(message)
        if reply is None:
            return _xml(twiml(tpl.final(tpl.render("error", "en", phone=settings.council.phone), MIXED)))
        return _xml(service.reply_twiml(reply))

    async def status(request: Request) -> Response:
        try:
            form = await service.read_form(request)
        except TooLarge:
            return Response(status_code=413)
        except Exception:
            return Response(status_code=400)
        if not service.signed(request, STATUS_PATH, form):
            log.warning("refused a status callback without a valid signature")
            return Response("Forbidden", status_code=403, media_type="text/plain")
        sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()[:64]
        state = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip()
        if not sid or not state:
            return Response(status_code=400)
        try:
            new = await service.run(deliveries.record_delivery, service.store, sid, state, form.get("ErrorCode"))
        except (StoreError, sqlite3.Error) as error:  # busy, full: one line, no traceback
            log.warning("%s: could not record delivery status %s (%s)", sid, state[:20], describe_error(error))
            return Response(status_code=200)  # nothing to gain from Twilio retrying
        except Exception:
            log.exception("%s: could not record delivery status %s", sid, state[:20])
            return Response(status_code=200)
        log.info("%s: delivery status %s%s", sid, state[:20], "" if new else " (seen before)")
        return Response(status_code=200)

    async def healthz(request: Request) -> Response:
        """200 only when the next text could be saved: a write probe (rolled back), the key, free
        space (sync/health.py). Otherwise 503 with each reason, so a monitor says what is wrong."""
        def check():
            found = health.problems(service.store, settings)
            if found:
                return 503, {"status": "error", "database": "error", "problems": found}
            offices = {name: {"reachable": None if state["reachable"] is None else bool(state["reachable"]),
                              "checked_at": state["checked_at"], "paused": bool(state["paused"])}
                       for name, state in service.store.backoffice_states().items()}
            return 200, {"status": "ok", "database": "ok", "backoffices": offices,
                         "texts": outbound.text_states(service.store)}

        try:
            code, found = check()  # quick: the probe waits a quarter of a second at most for a lock
        except Exception as error:  # a read that failed after all: the store is not usable
            log.warning("health check failed: %s", describe_error(error))
            return JSONResponse({"status": "error", "database": type(error).__name__,
                                 "problems": [str(describe_error(error))]}, status_code=503)
        return JSONResponse(found, status_code=code)

    @asynccontextmanager
    async def lifespan(app):
        await service.run(service.open)
        if own_process:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            service.close()

    if store is not None:
        service.open()
    app = Starlette(routes=[Route(INBOUND_PATH, inbound, methods=["POST"]),
                            Route(STATUS_PATH, status, methods=["POST"]),
                            Route("/healthz", healthz, methods=["GET"])],
                    lifespan=lifespan)
    app.state.sms = service
    return app
