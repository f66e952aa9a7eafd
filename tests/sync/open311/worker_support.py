"""Builders the worker's tests share (here and in other areas' tests): a store and settings
pointed at a loopback back office, a worker drained or run for rounds, and what the council holds.
Fixtures shared by this directory's tests are in its conftest.py."""

from __future__ import annotations

import asyncio

import httpx

from sync.open311.worker import Worker
from sync.texting.sender import TextSender
from tests.helpers import API_KEY as API_KEY
from tests.helpers import open_kiosk

#: The kiosk builder, under the name the worker's tests have always called it.
make = open_kiosk


def make_due(store) -> None:
    """Everything waiting out a backoff is due now."""
    store.db.conn.execute("UPDATE submissions SET next_attempt_at = '2000-01-01T00:00:00.000000Z'")


def drain(store, settings, **options):
    """One Worker.drain(): (its DrainReport, the worker, closed)."""
    async def go():
        worker = Worker(store, settings, **options)
        try:
            return await worker.drain(), worker
        finally:
            await worker.aclose()
    return asyncio.run(go())


def rounds(store, settings, twilio, count=1):
    """`count` rounds of `assist sync run`, each looking for the council's news, texting by `twilio`."""
    async def go():
        worker = Worker(store, settings, text_sender=TextSender(store, settings, twilio_base_url=twilio.url))
        try:
            for _ in range(count):
                worker._last_status = float("-inf")
                await worker.tick()
        finally:
            await worker.aclose()
    asyncio.run(go())


def council_requests(url) -> list[dict]:
    """What the reference back office at `url` holds, as its search answers."""
    return httpx.get(f"{url}requests.json", params={"page_size": 1000}).json()
