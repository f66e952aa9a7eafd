"""The heartbeat a kiosk builds from its store: what the council needs, in the service's schema."""

from __future__ import annotations

import dataclasses

from fleet.schema import HEARTBEAT, check
from sync.fleet import heartbeat, link
from tests.helpers import draft


def test_a_kiosk_low_on_disk_with_a_request_waiting_says_so_within_the_schema(settings, store, clock):
    low = dataclasses.replace(settings, store=dataclasses.replace(settings.store, min_free_mb=10**9),
                              kiosk=dataclasses.replace(settings.kiosk, library_name="L" * 500))
    store.enqueue(draft())
    store.set_backoffice_state("default", reachable=False, error="connection refused " * 30)
    store.set_backoffice_state("county", paused=True, paused_reason="API key refused")
    link.save_enrolment(store, "https://fleet.council.example", "kiosk-test-1", "token")
    clock.advance(minutes=45)
    body = heartbeat.build(store, low, link.current(store), clock())
    check(body, HEARTBEAT, "heartbeat")  # the service takes it: nothing too long, no field it does not know
    assert body["outbox"]["queued"] == 1 and body["oldest_queued_seconds"] == 45 * 60
    assert body["checks"] == {"store": True, "key": True, "disk": False}
    assert body["problems"][0].startswith("only ") and "store.min_free_mb" in body["problems"][0]
    assert body["backoffices"]["default"]["reachable"] is False
    assert body["backoffices"]["default"]["last_error"].startswith("connection refused")
    assert body["backoffices"]["county"]["paused"] is True
    assert body["silent_seconds"] is None and body["catalogue_age_seconds"] is None
    link.note_heartbeat(store, clock(), -2.5)
    clock.advance(minutes=5)
    body = heartbeat.build(store, settings, link.current(store), clock())
    assert body["silent_seconds"] == 300 and body["clock_offset_seconds"] == -2.5
