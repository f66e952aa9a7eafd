"""The worker's fleet step: a kiosk whose store fails is heard saying so, not silent, and a slow
fleet service holds up residents' requests for no longer than the step's deadline."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import datetime, timezone

import pytest

from fleet.overview import overview
from sync.fleet import link
from sync.fleet.formats import EVENTS_PATH
from sync.open311.worker import Worker
from sync.store.db import StoreError
from tests.helpers import draft
from tests.sync.fleet.support import kept_events, report_once, rounds, through, visit


def test_a_kiosk_whose_store_cannot_be_written_is_heard_with_its_store_check_failed(kiosk, fleet, caplog):
    settings, store = kiosk
    store.enqueue(draft())
    visit(store)
    store.db.conn.execute("PRAGMA query_only = ON")  # the store turned read-only under the worker

    async def stopped_round():
        worker = Worker(store, settings)
        try:
            with pytest.raises((StoreError, sqlite3.Error)):
                await worker.tick()
        finally:
            await worker.aclose()
    asyncio.run(stopped_round())

    [(body,)] = fleet.rows("SELECT body FROM fleet_heartbeats")
    heard = json.loads(body)
    assert heard["checks"]["store"] is False and heard["outbox"]["queued"] == 1
    assert any("the store cannot be written" in problem for problem in heard["problems"])
    [kiosk_row] = overview(fleet.store.db, fleet.settings, datetime.now(timezone.utc))
    assert "failed check: store" in kiosk_row["flags"]
    assert "fleet: could not note it in the store" in caplog.text
    assert len(kept_events(fleet)) == 3  # the events went too; only noting that they did must wait

    store.db.conn.execute("PRAGMA query_only = OFF")  # writable again: the next round catches up
    assert rounds(store, settings, 1)[0].accepted == 1
    assert json.loads(fleet.rows("SELECT body FROM fleet_heartbeats ORDER BY id")[-1][0])["checks"]["store"]
    kinds = sorted(kind for _, _, kind, _ in kept_events(fleet))  # each once, the submission's record too
    assert kinds == ["service", "started", "submission", "submitted"] and link.status(store)["events_waiting"] == 0


@pytest.mark.slow
def test_a_slow_fleet_service_holds_up_residents_requests_no_longer_than_the_deadline(kiosk, fleet, between):
    settings, store = kiosk
    settings = through(settings, between.url, timeout_seconds=1)  # the fleet step's deadline: 2 s
    visit(store)
    store.enqueue(draft())
    between.delays[EVENTS_PATH] = 30  # the service keeps the batch; its answer is slow to come back

    started = time.monotonic()
    [round_] = rounds(store, settings, 1)
    assert round_.accepted == 1 and time.monotonic() - started < 2 + 3
    status = link.status(store)
    assert "the fleet service took longer than 2 s" in status["last_error"]
    assert status["events_waiting"] == 3 and len(kept_events(fleet)) == 4  # taken, but not acknowledged

    del between.delays[EVENTS_PATH]
    assert report_once(store, settings)
    assert link.status(store)["events_waiting"] == 0 and len(kept_events(fleet)) == 4  # sent again, kept once
