"""What the kiosk-side fleet tests share: a visit's take-up events, one report or round sent, what
the service stored, and a peer standing between the kiosk and the service on loopback."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from typing import Any, Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync.config import Settings
from sync.fleet.reporter import FleetReporter
from sync.open311.worker import Worker
from sync.store import events
from tests.peers import serve_in_thread


def visit(store, service="pothole"):
    """A resident's visit: three take-up events."""
    session = events.new_session()
    for kind in (events.STARTED, events.SERVICE, events.SUBMITTED):
        events.record(store, session, kind, channel="kiosk", language="en", service_code=service)


def report_once(store, settings, transport=None) -> bool:
    """FleetReporter.report() once, as the worker would; whether the service took it all."""
    async def go():
        reporter = FleetReporter(store, settings, transport=transport)
        try:
            return await reporter.report()
        finally:
            await reporter.aclose()
    return asyncio.run(go())


def rounds(store, settings, count):
    """`count` rounds of one sync worker; their DrainReports."""
    async def go():
        worker = Worker(store, settings)
        try:
            return [await worker.tick() for _ in range(count)]
        finally:
            await worker.aclose()
    return asyncio.run(go())


def kept_events(fleet):
    """Every event the fleet service keeps: (store id, event id, kind, body)."""
    return fleet.rows("SELECT store_id, event_id, kind, body FROM fleet_events ORDER BY id")


def through(settings: Settings, url: str, **sync: Any) -> Settings:
    """The kiosk's settings sending to the fleet at `url` (`fleet.url`), with `sync.*` changed."""
    return replace(settings, fleet=replace(settings.fleet, url=url), sync=replace(settings.sync, **sync))


class Between:
    """What stands between a kiosk and the fleet service on the library's network (a sign-in
    proxy, a captive portal, a slow link), as a real peer on loopback: each request is forwarded to
    the service, unless `answers` has the path (answered with that instead, the service never
    asked); `delays` holds an answer from the service back that many seconds."""

    def __init__(self, service_url: str) -> None:
        self.service = service_url
        self.answers: dict[str, Callable[[], Response]] = {}
        self.delays: dict[str, float] = {}
        self.posted: Counter[str] = Counter()
        self.stopping = False
        self.running = serve_in_thread(Starlette(routes=[Route("/{path:path}", self.post, methods=["POST"])]),
                                       name="between")
        self.url = f"http://127.0.0.1:{self.running.port}"

    async def post(self, request: Request) -> Response:
        path = request.url.path
        self.posted[path] += 1
        if path in self.answers:
            return self.answers[path]()
        headers = {name: value for name, value in request.headers.items()
                   if name in ("authorization", "x-assist-device", "content-type")}
        async with httpx.AsyncClient() as client:
            answer = await client.post(self.service + path, content=await request.body(), headers=headers)
        held = time.monotonic() + self.delays.get(path, 0)
        while time.monotonic() < held and not self.stopping:  # a held answer is let go when the peer stops
            await asyncio.sleep(0.05)
        return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))

    def stop(self) -> None:
        self.stopping = True
        self.running.stop()
