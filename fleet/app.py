"""The fleet service's API, for kiosks (`assist fleet serve`).

    POST /fleet/enrol      {"device_id", "code"} -> {"token"}: a one-time code for the kiosk's token
    POST /fleet/heartbeat  a kiosk's heartbeat (Bearer token, with X-Assist-Device naming the kiosk)
    POST /fleet/events     a batch of take-up events and submission records (the same credentials)
    GET  /metrics          Prometheus' text format, with `fleet.metrics_token` as a Bearer token (fleet/metrics.py)
    /fleet/, /fleet/kiosks/{device_id}, /fleet/sign-in, /fleet/sign-out: the staff's pages (fleet/pages.py)

Every answer of the kiosks' API is JSON; every refusal says why in `error`. A body over its endpoint's limit is
refused with 413 (unread when Content-Length says so), JSON that cannot be read with 400, a field
outside the schema with 400 naming it, a missing, wrong or revoked token with 401, logged with
the device id the request claimed (or that it was none) and the reason: never a token, a code
or a body. Nothing here calls out.
"""

from __future__ import annotations

import hmac
import json
import logging
import sqlite3
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fleet import events, heartbeats, pages, registry
from fleet.bodies import TooLarge, read_body
from fleet.metrics import CONTENT_TYPE, Metrics
from fleet.proxies import TrustedProxies
from fleet.schema import ENROL, Invalid, check
from sync.config import Settings
from sync.fleet.formats import DEVICE_HEADER, ENROL_PATH, EVENTS_PATH, HEARTBEAT_PATH
from sync.store import Store
from sync.store.db import Database, StoreError, describe_error
from sync.store.times import utcnow

log = logging.getLogger(__name__)

MAX_ENROL_BYTES = 4 * 1024
MAX_HEARTBEAT_BYTES = 64 * 1024
MAX_EVENTS_BYTES = 1024 * 1024
#: How often old heartbeats are purged (with the heartbeat that finds it due).
PURGE_EVERY_SECONDS = 3600


def refusal(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=status)


async def read_json(request: Request, max_bytes: int) -> Any:
    """The request's JSON body, read no further than `max_bytes` (TooLarge), or Invalid."""
    body = await read_body(request, max_bytes)
    try:
        return json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise Invalid("the body is not well-formed JSON") from None


def _no_constant(name: str) -> None:
    raise ValueError(name)


NO_DEVICE = "(no valid device id)"


def _claimed_device(request: Request) -> str:
    """The device id a request claims, as the log may show it."""
    claimed = request.headers.get(DEVICE_HEADER, "")
    return claimed if registry.DEVICE_ID.match(claimed) else NO_DEVICE


#: What a kiosk refused is told, by the reason logged: why, and what its operator can do about it
#: (`assist fleet status` shows it). An unknown device and a wrong token are told alike, so that
#: no caller can list which device ids the service knows; tokens and codes never appear.
NOT_HELD = ("this kiosk's token is not one the fleet service holds for {device}: check kiosk.device_id, or ask the "
            "council for a new code (assist fleet add-kiosk) and enrol again")
TOLD = {
    "revoked": "the council revoked this kiosk's enrolment: ask it for a new code (assist fleet add-kiosk) and "
               "enrol again (assist fleet enrol)",
    "wrong token": NOT_HELD,
    "unknown device": NOT_HELD,
}
NEEDED = f"a kiosk's token is needed (Authorization: Bearer, with {DEVICE_HEADER} naming the kiosk)"


def _authenticated(request: Request) -> tuple[str | None, str]:
    """The kiosk a request's token proves it is, or None and what the kiosk is told (logged with
    the device id claimed and the reason)."""
    device = _claimed_device(request)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        reason = "no bearer token"
    elif device == NO_DEVICE:
        reason = f"no {DEVICE_HEADER} header naming the kiosk"
    else:
        reason = registry.authenticate(request.app.state.fleet.db, device, token.strip()) or ""
        if not reason:
            return device, ""
    log.warning("fleet: refused %s from device %s: %s", request.url.path, device, reason)
    return None, TOLD.get(reason, NEEDED).format(device=device)


class Fleet:
    """What the endpoints share: the store (its database), the clock, when heartbeats were purged."""

    def __init__(self, settings: Settings, store: Store | None, clock: Callable[[], datetime]) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.own_store = store is None
        self.last_purge: datetime | None = None
        self.metrics = Metrics(lambda: self.db, clock)

    @property
    def db(self) -> Database:
        assert self.store is not None, "the fleet service's store is opened at start-up"
        return self.store.db

    def open(self) -> None:
        if self.store is None:
            self.store = Store.open(self.settings)

    def close(self) -> None:
        if self.own_store and self.store is not None:
            self.store.close()
            self.store = None

    def purge_if_due(self, now: datetime) -> None:
        if self.last_purge is None or (now - self.last_purge).total_seconds() >= PURGE_EVERY_SECONDS:
            self.last_purge = now
            if purged := heartbeats.purge(self.db, now):
                log.info("fleet: purged %d heartbeats older than 30 days", purged)


def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Bad input as 400 or 413 with its reason, a busy or full store as 503: never a traceback."""

    async def endpoint(request: Request) -> Response:
        response = await answered(request)
        if response.status_code >= 400:
            request.app.state.fleet.metrics.refused.labels(str(response.status_code)).inc()
        return response

    async def answered(request: Request) -> Response:
        try:
            return await handler(request)
        except TooLarge:
            return refusal(413, "the body is too large")
        except Invalid as error:
            log.warning("fleet: refused %s from device %s: %s", request.url.path, _claimed_device(request), error)
            return refusal(400, str(error))
        except ClientDisconnect:
            return Response(status_code=400)
        except (StoreError, sqlite3.Error) as error:
            log.warning("fleet: %s not recorded: %s", request.url.path, describe_error(error))
            return refusal(503, "the fleet service cannot record it now; try again later")

    return endpoint


@guarded
async def enrol(request: Request) -> Response:
    body = await read_json(request, MAX_ENROL_BYTES)
    check(body, ENROL, "enrolment")
    fleet: Fleet = request.app.state.fleet
    try:
        token = registry.enrol(fleet.db, body["device_id"], body["code"], fleet.clock())
    except registry.Refused as refused:
        device = body["device_id"] if registry.DEVICE_ID.match(body["device_id"]) else NO_DEVICE
        log.warning("fleet: refused enrolment of device %s: %s", device, refused)
        return refusal(401, str(refused))
    log.info("fleet: kiosk %s enrolled", body["device_id"])
    return JSONResponse({"device_id": body["device_id"], "token": token})


def from_a_kiosk(handler: Callable[[Request, str], Any]) -> Callable[[Request], Any]:
    """An endpoint only an enrolled kiosk may call: 401 without its valid token, else the handler
    is given the kiosk's device id."""

    async def endpoint(request: Request) -> Response:
        device, told = _authenticated(request)
        if device is None:
            return refusal(401, told)
        response: Response = await handler(request, device)
        return response

    return endpoint


@guarded
@from_a_kiosk
async def heartbeat(request: Request, device: str) -> Response:
    fleet: Fleet = request.app.state.fleet
    now = fleet.clock()
    try:
        skew = heartbeats.record(fleet.db, device, await read_json(request, MAX_HEARTBEAT_BYTES), now)
    except Invalid as refused:  # shown beside the kiosk, which would otherwise only seem silent
        registry.note_refusal(fleet.db, device, str(refused), now)
        raise
    fleet.metrics.heartbeats.inc()
    fleet.purge_if_due(now)
    return JSONResponse({"ok": True, "clock_skew_seconds": round(skew, 1)})


@guarded
@from_a_kiosk
async def take_events(request: Request, device: str) -> Response:
    fleet: Fleet = request.app.state.fleet
    received = events.record(fleet.db, device, await read_json(request, MAX_EVENTS_BYTES), fleet.clock())
    fleet.metrics.events.labels("true").inc(received.stored - received.unknown)
    fleet.metrics.events.labels("false").inc(received.unknown)
    if received.unknown:
        log.info("fleet: kiosk %s sent %d events of kinds this version does not know (kept)", device,
                 received.unknown)
    return JSONResponse(received.as_dict())


@guarded
async def metrics(request: Request) -> Response:
    fleet: Fleet = request.app.state.fleet
    expected = fleet.settings.fleet.metrics_token
    if not expected:
        return refusal(403, "metrics are off: fleet.metrics_token is not set")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        log.warning("fleet: refused /metrics: no metrics token")
        return refusal(401, "the metrics token is needed (Authorization: Bearer, fleet.metrics_token)")
    if not hmac.compare_digest(token.strip().encode(), expected.encode()):
        log.warning("fleet: refused /metrics: a token that is not fleet.metrics_token")
        return refusal(401, "that is not the metrics token (fleet.metrics_token)")
    return Response(fleet.metrics.exposition(), media_type=CONTENT_TYPE)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.fleet.open()
    try:
        yield
    finally:
        app.state.fleet.close()


ROUTES = [Route(ENROL_PATH, enrol, methods=["POST"]), Route(HEARTBEAT_PATH, heartbeat, methods=["POST"]),
          Route(EVENTS_PATH, take_events, methods=["POST"]), Route("/metrics", metrics, methods=["GET"]),
          *pages.ROUTES]


def create_app(settings: Settings, *, store: Store | None = None,
               clock: Callable[[], datetime] = utcnow) -> Starlette:
    """The ASGI app. With `store`, that store is used (and left open); without, one is opened at
    start-up from the settings and closed at shutdown. Serve it with uvicorn's own proxy headers off
    (`proxy_headers=False`): the app believes them only from `fleet.trusted_proxies` (fleet/proxies.py)."""
    app = Starlette(routes=ROUTES, lifespan=lifespan,
                    middleware=[Middleware(TrustedProxies, proxies=settings.fleet.trusted_proxies)])
    app.state.fleet = Fleet(settings, store, clock)
    return app
