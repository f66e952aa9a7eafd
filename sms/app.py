"""The SMS web service: Twilio's webhooks, and a health check.

    POST /sms/inbound   Twilio's incoming-message webhook: answered with TwiML
    POST /sms/status    delivery status callbacks for the texts the worker sends
    GET  /healthz       process and database health, and the back office's last known reachability

Every webhook passes the size limit and Twilio's signature check first (sms/middleware.py);
`app.state.sms` holds the store, the bot and the batcher (sms/service.py), `app.state.signatures`
the signature check. Nothing a resident sends can cause a 5xx: a body too large for a webhook
is refused with 413, a bad request with 400, and anything unexpected gets a polite TwiML apology
(logged with its MessageSid, never the number or the words). This module makes no outbound calls.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sms.messages import Inbound
from sms.middleware import BodyLimit, Signatures, twilio_signed
from sms.service import SmsService, twiml
from sync.config import Settings
from sync.store import health
from sync.store.db import StoreError, describe_error
from sync.texting import deliveries, outbound

log = logging.getLogger(__name__)

INBOUND_PATH = "/sms/inbound"
STATUS_PATH = "/sms/status"
#: Twilio's form posts are a few kilobytes (1,600 characters of body at most); anything much
#: larger is not from Twilio and is refused unread.
MAX_REQUEST_BYTES = 64 * 1024
TWIML = "application/xml"
#: Container objects allocated (net) between two young-generation collections, in a process that
#: serves only this app (Python's default is 700). A batch's messages make a few thousand that all
#: die with the batch, by reference counting: no cycle is left behind (bench/bench_sms.py). At the
#: default, a collection ran every 16 messages or so to find nothing, about 3% of the webhook's time.
YOUNG_COLLECTION_THRESHOLD = 10_000


def _field(form: FormData, *names: str) -> str:
    """The first of `names` the form has, stripped and cut to 64 characters."""
    for name in names:
        value = form.get(name)
        if value:
            return str(value).strip()[:64]
    return ""


@twilio_signed
async def inbound(request: Request, form: FormData) -> Response:
    """A text from a resident: its reply, as TwiML."""
    sid, sender = _field(form, "MessageSid", "SmsSid"), _field(form, "From")
    if not sid or not sender:
        return Response(twiml(""), status_code=400, media_type=TWIML)
    try:
        media = int(str(form.get("NumMedia") or 0))
    except ValueError:
        media = 0
    service: SmsService = request.app.state.sms
    reply = await service.batcher.submit(Inbound(sid=sid, sender=sender, body=str(form.get("Body") or ""),
                                                 num_media=media))
    return Response(service.reply_twiml(reply), media_type=TWIML)


@twilio_signed
async def status(request: Request, form: FormData) -> Response:
    """A delivery status for a text the worker sent: recorded, moving forward only."""
    sid, state = _field(form, "MessageSid", "SmsSid"), _field(form, "MessageStatus", "SmsStatus")
    if not sid or not state:
        return Response(status_code=400)
    error_code = form.get("ErrorCode")
    try:
        new = deliveries.record_delivery(request.app.state.sms.store, sid, state,
                                         str(error_code) if error_code else None)
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
    space (sync/store/health.py). Otherwise 503 with each reason, so a monitor says what is wrong."""
    service: SmsService = request.app.state.sms
    try:  # quick: the probe waits a quarter of a second at most for a lock
        found = health.problems(service.store, service.settings)
        if found:
            return JSONResponse({"status": "error", "database": "error", "problems": found}, status_code=503)
        offices = {name: {"reachable": None if state["reachable"] is None else bool(state["reachable"]),
                          "checked_at": state["checked_at"], "paused": bool(state["paused"])}
                   for name, state in service.store.backoffice_states().items()}
        return JSONResponse({"status": "ok", "database": "ok", "backoffices": offices,
                             "texts": outbound.text_states(service.store)})
    except Exception as error:  # a read that failed after all: the store is not usable
        log.warning("health check failed: %s", describe_error(error))
        return JSONResponse({"status": "error", "database": type(error).__name__,
                             "problems": [str(describe_error(error))]}, status_code=503)


@asynccontextmanager
async def lifespan(app: Starlette):
    service: SmsService = app.state.sms
    service.open()
    if app.state.own_process:
        gc.collect()
        gc.freeze()
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD)
    try:
        yield
    finally:
        service.close()


ROUTES = [Route(INBOUND_PATH, inbound, methods=["POST"]), Route(STATUS_PATH, status, methods=["POST"]),
          Route("/healthz", healthz, methods=["GET"])]


def create_app(settings: Settings, *, store=None, own_process: bool = False) -> Starlette:
    """The ASGI app. With `store`, that store is used (and left open); without, one is opened
    at start-up from the settings and closed at shutdown.

    `own_process`: the app is all this process serves (`assist sms serve`). Then everything made
    by the time it has started (modules, translations, the catalogue, the bot) is frozen out of
    the garbage collector's reach: it lives as long as the process, and every full collection
    would otherwise walk all of it again, a pause of tens of milliseconds every few thousand
    messages (bench/bench_sms.py); and the young generation is collected only when objects
    outlive their batch (YOUNG_COLLECTION_THRESHOLD)."""
    app = Starlette(routes=ROUTES, middleware=[Middleware(BodyLimit, max_bytes=MAX_REQUEST_BYTES)], lifespan=lifespan)
    app.state.sms = SmsService(settings, store)
    app.state.signatures = Signatures(settings.twilio.auth_token, settings.twilio.public_url)
    app.state.own_process = own_process
    if store is not None:
        app.state.sms.open()
    return app
