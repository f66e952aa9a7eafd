"""An enrolled kiosk tells the fleet service how it is and what residents did: once, whatever the
network does, and without ever holding up a resident's request."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx

from sync.fleet import link, uploads
from sync.store import events
from tests.helpers import draft
from tests.sync.fleet.support import kept_events, report_once, rounds, visit


def test_the_worker_sends_a_heartbeat_and_the_events_once(kiosk, fleet):
    settings, store = kiosk
    for _ in range(2):
        store.enqueue(draft())
        visit(store)
    reports = rounds(store, settings, 2)  # the second round is within fleet.heartbeat_seconds: nothing sent
    assert reports[0].accepted == 2
    [(device, body)] = fleet.rows("SELECT device_id, body FROM fleet_heartbeats")
    heartbeat = json.loads(body)
    assert device == "kiosk-1" and heartbeat["outbox"]["accepted"] == 2 and heartbeat["outbox"]["queued"] == 0
    assert heartbeat["checks"] == {"store": True, "key": True, "disk": True} and heartbeat["backoffices"]
    stored = kept_events(fleet)
    kinds = [kind for _, _, kind, _ in stored]
    assert kinds.count("started") == 2 and kinds.count("submitted") == 2 and kinds.count("submission") == 2
    record = json.loads(next(body for _, _, kind, body in stored if kind == "submission"))
    assert set(record) == {"channel", "service_code", "created_at", "accepted_at", "outcome"}
    assert record["outcome"] == "accepted" and record["accepted_at"] >= record["created_at"]
    assert {store_id for store_id, *_ in stored} == {link.current(store).store_id}

    assert report_once(store, settings)  # a later heartbeat: no event sent again
    assert len(kept_events(fleet)) == len(stored) and fleet.rows("SELECT count(*) FROM fleet_heartbeats") == [(2,)]
    assert not uploads.next_batch(store, "x", link.current(store).events_sent_until).items


def test_the_service_down_for_a_while_costs_nothing_and_is_caught_up(kiosk, fleet, caplog):
    settings, store = kiosk
    fleet.stop(keep_store=True)
    for _ in range(3):
        store.enqueue(draft())
        visit(store)
    with caplog.at_level(logging.WARNING, logger="sync.fleet"):
        reports = rounds(store, settings, 1)
    assert reports[0].accepted == 3  # the residents' requests went to the council all the same
    assert "fleet: the fleet service at" in caplog.text and "could not be reached" in caplog.text
    assert link.last_error(store).startswith("the fleet service at")
    assert report_once(store, settings) is False  # offline again: nothing piles up, nothing is marked sent

    fleet.restart()
    with caplog.at_level(logging.INFO, logger="sync.fleet"):
        assert report_once(store, settings)
    assert caplog.text.count("fleet: the fleet service took this kiosk's heartbeat again") == 1  # back: said once
    [(body,)] = fleet.rows("SELECT body FROM fleet_heartbeats")  # one heartbeat, not one per missed round
    assert json.loads(body)["silent_seconds"] is None  # never heard before this one
    assert len(kept_events(fleet)) == 3 * 3 + 3 and link.last_error(store) is None
    with caplog.at_level(logging.INFO, logger="sync.fleet"):
        assert report_once(store, settings)
    assert caplog.text.count("took this kiosk's heartbeat again") == 1  # not at every heartbeat
    assert json.loads(fleet.rows("SELECT body FROM fleet_heartbeats ORDER BY id")[-1][0])["silent_seconds"] >= 0
    assert len(kept_events(fleet)) == 12


class LoseAnswers(httpx.AsyncBaseTransport):
    """The network between the kiosk and the service: the events reach the service, the answers
    are lost on the way back (the service never acknowledges, as far as the kiosk can tell)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.posted = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.url.path == "/fleet/events":
            self.posted += 1
            await response.aread()
            raise httpx.ReadTimeout("answer lost", request=request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_answers_never_arriving_send_again_and_the_service_keeps_each_once(kiosk, fleet):
    settings, store = kiosk
    visit(store)
    lossy = LoseAnswers()
    assert not report_once(store, settings, transport=lossy) and not report_once(store, settings, transport=lossy)
    assert lossy.posted == 2 and link.current(store).events_sent_until == 0  # never acknowledged
    assert len(kept_events(fleet)) == 3  # each kept once
    assert report_once(store, settings)
    assert len(kept_events(fleet)) == 3 and link.current(store).events_sent_until == 3


def test_a_batch_the_service_refuses_is_logged_and_skipped_not_retried_for_ever(kiosk, fleet, caplog):
    settings, store = kiosk
    session = events.new_session()
    events.record(store, session, events.QUESTION, channel="kiosk", language="en", step="q" * 400)  # too long
    with caplog.at_level(logging.WARNING, logger="sync.fleet"):
        assert not report_once(store, settings)
    assert "a batch of 1 take-up events was refused and is skipped" in caplog.text
    assert "longer than 300 characters" in caplog.text
    assert kept_events(fleet) == [] and link.current(store).events_sent_until == 1
    visit(store)
    assert report_once(store, settings) and len(kept_events(fleet)) == 3


def test_a_revoked_kiosk_keeps_working_and_says_why_it_is_not_heard(kiosk, fleet, caplog):
    from fleet import registry

    settings, store = kiosk
    registry.revoke(fleet.store.db, "kiosk-1", fleet.store.clock())
    store.enqueue(draft())
    with caplog.at_level(logging.WARNING):
        assert rounds(store, settings, 1)[0].accepted == 1
    assert "refused it (401)" in link.last_error(store)
    assert "fleet: refused /fleet/heartbeat from device kiosk-1: revoked" in caplog.text


def test_the_kiosks_clock_is_measured_against_the_services_date_and_flagged(tmp_path, council_server, fleet):
    from datetime import datetime, timedelta, timezone

    from fleet.overview import overview
    from sync.fleet.enrolment import enrol
    from tests.helpers import API_KEY, open_kiosk

    def fast():  # ten minutes ahead of the service
        return datetime.now(timezone.utc) + timedelta(minutes=10)

    settings, store = open_kiosk(tmp_path, council_server(api_key=API_KEY), name="kiosk-2", clock=fast)
    try:
        asyncio.run(enrol(store, fleet.url, "kiosk-2", fleet.add_kiosk("kiosk-2")))
        assert report_once(store, settings)
        # The service's Date is real time; the kiosk's "now" for its store is ten minutes ahead, but the
        # offset is measured with the machine's clock, which is the one a wrong time would be on.
        offset = link.current(store).clock_offset_seconds
        assert offset is not None and abs(offset) < 2
        [row] = overview(fleet.store.db, fleet.settings, datetime.now(timezone.utc))
        assert "clock 10 minutes ahead" in row["flags"]
        assert report_once(store, settings)
        last = json.loads(fleet.rows("SELECT body FROM fleet_heartbeats ORDER BY id")[-1][0])
        assert last["clock_offset_seconds"] == offset
    finally:
        store.close()


def test_a_store_restored_from_a_backup_is_not_taken_for_a_replay(kiosk, fleet):
    settings, store = kiosk
    visit(store)
    assert report_once(store, settings) and len(kept_events(fleet)) == 3
    # Restored from a backup taken after the first event: the later two are gone from the store (the
    # service has them), and the next events are numbered where they were.
    with store.db.conn:
        store.db.conn.execute("DELETE FROM session_events WHERE id > 1")
        store.db.conn.execute("UPDATE fleet_link SET events_sent_until = 1")
    visit(store)
    assert report_once(store, settings)
    assert len(kept_events(fleet)) == 6, "the new visit's events were taken for ones the service had"


def test_the_worker_keeps_one_connection_to_the_service_and_closes_one_it_leaves(kiosk, fleet):
    """A fleet.url written with a space after it, or a service moved: a client a heartbeat, each
    left open, would leak the kiosk's connections for as long as it runs."""
    import dataclasses

    from sync.fleet.reporter import FleetReporter

    settings, store = kiosk
    spaced = dataclasses.replace(settings, fleet=dataclasses.replace(settings.fleet, url=f"{fleet.url}/ \n"))

    async def go():
        reporter = FleetReporter(store, spaced)
        try:
            assert await reporter.report()
            first = reporter.client
            assert await reporter.report()
            assert reporter.client is first
            reporter.settings = settings  # the same service, written as enrolled: the same client
            assert await reporter.report() and reporter.client is first
            reporter.settings = dataclasses.replace(settings, fleet=dataclasses.replace(
                settings.fleet, url=fleet.url.replace("127.0.0.1", "localhost")))
            assert await reporter.report()
            assert reporter.client is not first and first.http.is_closed
        finally:
            await reporter.aclose()
    asyncio.run(go())
