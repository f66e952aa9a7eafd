"""The worker's fleet step: a kiosk whose store fails is heard saying so, not silent."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime, timezone

import pytest

from fleet.overview import overview
from sync.fleet import link
from sync.open311.worker import Worker
from sync.store.db import StoreError
from tests.helpers import draft
from tests.sync.fleet.support import kept_events, rounds, visit


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
