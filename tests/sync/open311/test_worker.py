"""The sync worker against the reference back office over real loopback HTTP."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from sync import reference
from sync.flow import Draft
from sync.open311.form import compose_description, scrubbed
from sync.open311.outcomes import Unsearchable
from sync.open311.recording import DrainReport
from sync.open311.worker import Worker
from tests.helpers import draft
from tests.sync.open311.worker_support import API_KEY, council_requests, drain, make, make_due


def bin_draft(**changes) -> Draft:
    return draft(service_code="missed_bin", attributes={"bin_type": "food", "collection_date": "2026-11-23"},
                 **changes)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_submissions_reach_the_council_once_with_their_reference(tmp_path, council_server, fmt):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url, fmt=fmt)
    refs = [store.enqueue(d).reference for d in (draft(), bin_draft(idempotency_key="b"),
            draft(service_code="bulky_waste", attributes={"items": ["sofa", "fridge"], "item_count": 2},
                  idempotency_key="c"))]
    report, _ = drain(store, settings)
    assert report.accepted == 3 and store.counts()["accepted"] == 3
    at_council = council_requests(url)
    assert len(at_council) == 3
    for ref in refs:
        found = store.lookup(ref)
        assert found.state == "accepted"
        [request] = [r for r in at_council if reference.display(ref) in r["description"]]
        assert request["service_request_id"] == store.db.conn.execute(
            "SELECT service_request_id FROM submissions WHERE reference = ?", (ref,)).fetchone()[0]
    assert store.personal(refs[0])["contact"] is None  # purged once the council has it
    assert drain(store, settings)[0].handled == 0  # nothing is sent twice


def test_the_description_carries_the_reference_within_4000_characters():
    text = compose_description("x" * 5000, "K7Q4MBXP9Z")
    assert len(text) == 4000 and text.endswith("[assist reference K7Q-4MB-XP9Z]")
    assert text.startswith("[assist reference K7Q-4MB-XP9Z]")  # a server that cuts descriptions keeps it
    real = reference.new_reference()
    assert reference.find_in(compose_description("x" * 5000, real)[:255]) == [real]


def test_token_mode_waits_for_the_id_without_posting_again(tmp_path, council_server, council_clock):
    url = council_server(api_key=API_KEY, token_mode=True, token_delay=60, now=council_clock)
    settings, store = make(tmp_path, url)
    ref = store.enqueue(draft()).reference
    report, _ = drain(store, settings)
    assert report.awaiting == 1 and store.lookup(ref).state == "awaiting_id"
    make_due(store)
    assert drain(store, settings)[0].retried == 1  # 404 on the token: not yet
    council_clock.advance(seconds=61)
    make_due(store)
    assert drain(store, settings)[0].accepted == 1
    assert store.lookup(ref).state == "accepted" and len(council_requests(url)) == 1


def test_a_refusal_needs_attention_with_the_councils_reason(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    ref = store.enqueue(draft(attributes={"surface": "road"})).reference  # "size" is required
    report, _ = drain(store, settings)
    assert report.needs_attention == 1
    [row] = store.listing(["needs_attention"])
    assert row["reference"] == ref and "size" in row["last_error"]


def test_an_unknown_service_code_refreshes_the_catalogue_then_needs_attention(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    store.enqueue(draft(service_code="teleporter_fault", attributes={}))
    drain(store, settings)
    [row] = store.listing(["needs_attention"])
    assert "no longer offers service 'teleporter_fault'" in row["last_error"]
    assert store.catalogue().source == "council" and store.catalogue().get("pothole").name == "Pothole"


def test_a_bad_api_key_pauses_that_back_office_and_fails_nothing(tmp_path, council_server, run, env):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url, key="wrong")
    store.enqueue(draft())
    store.enqueue(bin_draft(idempotency_key="2"))
    report, _ = drain(store, settings)
    assert report.paused == {"default"} and store.counts()["queued"] == 2 and store.counts()["needs_attention"] == 0
    assert "refused our API key" in store.backoffice_states()["default"]["paused_reason"]
    status = run("sync", "status", extra_env={"ASSIST_STORE__PATH": str(settings.store_path)}).output
    assert "back office default: reachable, PAUSED: the council refused our API key (403" in status
    assert drain(store, settings)[0].handled == 0  # paused: nothing is tried
    fixed, _ = make(tmp_path, url)  # the operator fixes the key and resumes
    result = run("sync", "resume", extra_env={"ASSIST_STORE__PATH": str(settings.store_path)})
    assert "resumed default" in result.output and store.take_request("sync_now")
    assert drain(store, fixed)[0].accepted == 2


def test_a_paused_back_office_is_probed_and_resumes_by_itself(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    store.enqueue(draft())
    store.set_backoffice_state("default", paused=True, paused_reason="403 yesterday")

    async def probe():
        worker = Worker(store, settings)
        await worker.probe_paused()
        await worker.aclose()
    asyncio.run(probe())
    assert not store.backoffice_states()["default"]["paused"] and store.counts()["accepted"] == 1


def test_server_errors_and_refused_connections_retry_and_lose_nothing(tmp_path, council_server):
    healthy = council_server(api_key=API_KEY)
    settings_ok, store = make(tmp_path, healthy)
    store.enqueue(draft(idempotency_key="earlier"))  # accepted: what proves the council's search later
    assert drain(store, settings_ok)[0].accepted == 1
    failing = council_server(api_key=API_KEY, fail_rate=1.0, seed=1, db_path=Path(healthy.db_path))
    settings, _ = make(tmp_path, failing)
    store.enqueue(draft())
    report, _ = drain(store, settings)
    assert report.retried == 1 and store.counts()["sending"] == 1  # a 5xx may have been half-done
    nowhere, _ = make(tmp_path, "http://127.0.0.1:9/")
    make_due(store)
    drain(store, nowhere)
    state = store.backoffice_states()["default"]
    assert state["reachable"] == 0 and "cannot connect" in state["last_error"]
    assert store.counts()["sending"] == 1  # still ambiguous from the 5xx: it will be reconciled
    make_due(store)
    assert drain(store, settings_ok)[0].accepted == 1 and len(council_requests(healthy)) == 2


@pytest.mark.parametrize("kiosk_clock_off_by", [timedelta(0), timedelta(hours=-7), timedelta(hours=9)])
def test_a_lost_answer_is_found_at_the_council_not_sent_twice(tmp_path, council_server, kiosk_clock_off_by):
    dropping = council_server(api_key=API_KEY, drop_after_commit=1.0)

    def clock():  # the kiosk's wall clock, hours wrong after a power cut
        return datetime.now(timezone.utc) + kiosk_clock_off_by

    settings, store = make(tmp_path, dropping, clock=clock)
    ref = store.enqueue(draft()).reference
    report, _ = drain(store, settings)
    assert report.retried == 1 and store.counts()["sending"] == 1
    assert len(council_requests(dropping)) == 1  # it did arrive
    healthy = council_server(api_key=API_KEY, db_path=Path(dropping.db_path))
    settings_ok, _ = make(tmp_path, healthy)
    report, _ = drain(store, settings_ok)
    assert report.reconciled == 1 and store.lookup(ref).state == "accepted"
    assert len(council_requests(healthy)) == 1
    history = [entry.notes for entry in store.lookup(ref).history]
    assert "found at the council after a lost answer" in history


def test_two_tier_routing_sends_each_service_to_its_own_back_office(tmp_path, council_server):
    district = council_server(api_key=API_KEY)
    county = council_server(api_key="county-key")
    settings, store = make(tmp_path, district, extra={
        "ASSIST_BACKOFFICES__COUNTY__URL": county, "ASSIST_BACKOFFICES__COUNTY__API_KEY": "county-key",
        "ASSIST_BACKOFFICES__COUNTY__SERVICES": "pothole,street_light"})
    store.enqueue(draft())
    store.enqueue(bin_draft(idempotency_key="bin"))
    assert drain(store, settings)[0].accepted == 2
    assert [r["service_code"] for r in council_requests(county)] == ["pothole"]
    assert [r["service_code"] for r in council_requests(district)] == ["missed_bin"]


def test_a_paused_county_does_not_hold_up_the_district(tmp_path, council_server):
    district = council_server(api_key=API_KEY)
    county = council_server(api_key="county-key")
    settings, store = make(tmp_path, district, extra={
        "ASSIST_BACKOFFICES__COUNTY__URL": county, "ASSIST_BACKOFFICES__COUNTY__API_KEY": "stale",
        "ASSIST_BACKOFFICES__COUNTY__SERVICES": "pothole"})
    store.enqueue(draft())
    store.enqueue(bin_draft(idempotency_key="bin"))
    report, _ = drain(store, settings)
    assert report.paused == {"county"} and report.accepted == 1
    states = store.backoffice_states()
    assert states["county"]["paused"] and not states.get("default", {}).get("paused")


def accept_one(tmp_path, url, **make_options):
    settings, store = make(tmp_path, url, **make_options)
    ref = store.enqueue(draft()).reference
    drain(store, settings)
    request_id = store.db.conn.execute("SELECT service_request_id FROM submissions").fetchone()[0]
    return settings, store, ref, request_id


@pytest.mark.parametrize("use_updates_feed", [True, False])
def test_status_comes_back_into_the_history(tmp_path, council_server, run, use_updates_feed):
    url = council_server(api_key=API_KEY)
    settings, store, ref, request_id = accept_one(tmp_path, url)
    result = run("council", "update", request_id, "--status", "in_progress", "--note", "Crew booked for Friday",
                 "--db", str(url.db_path))
    assert result.exit_code == 0, result.output

    async def pull():
        worker = Worker(store, settings)
        if not use_updates_feed:
            worker.statuses.no_updates.add("default")
        try:
            return await worker.pull_statuses()
        finally:
            await worker.aclose()
    assert asyncio.run(pull()) == 1
    assert asyncio.run(pull()) == 0  # the same news is not recorded twice
    run("council", "update", request_id, "--status", "closed", "--note", "Filled", "--db", str(url.db_path))
    asyncio.run(pull())
    found = store.lookup(ref)
    assert [(e.status, e.notes) for e in found.history if e.source == "council"] == [
        ("in_progress", "Crew booked for Friday"), ("closed", "Filled")]
    assert found.council_status == "closed" and store.open_requests("default") == {}


def test_the_catalogue_is_refreshed_from_the_council(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)

    async def refresh():
        worker = Worker(store, settings)
        try:
            return await worker.refresh_catalogue()
        finally:
            await worker.aclose()
    current = asyncio.run(refresh())
    assert current.source == "council" and store.catalogue_fetched_at() is not None
    assert current.get("needles").urgent_notice  # the overlay's words stay
    assert [a.code for a in current.get("missed_bin").attributes] == ["bin_type", "collection_date"]


def test_sync_run_once_and_status_from_the_command_line(tmp_path, council_server, run):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    store.enqueue(draft())
    env = {"ASSIST_STORE__PATH": str(settings.store_path), "ASSIST_BACKOFFICE__URL": url,
           "ASSIST_BACKOFFICE__API_KEY": API_KEY}
    result = run("sync", "run", "--once", extra_env=env)
    assert result.exit_code == 0 and "accepted 1" in result.output
    status = run("sync", "status", extra_env=env).output.splitlines()
    assert status[:4] == ["queued: 0", "sending: 0", "awaiting_id: 0", "accepted: 1"]
    assert any(line.startswith("last success: ") and "ago" in line for line in status)
    assert "back office default: reachable" in status
    import json
    data = json.loads(run("sync", "status", "--json", extra_env=env).output)
    assert data["states"]["accepted"] == 1 and data["backoffices"]["default"]["reachable"] is True


def test_an_unsearchable_server_never_gets_a_lost_answer_sent_twice(tmp_path, council_server):
    """Without a search, the ambiguous submission waits, never resent; once the council has
    answered but not been searchable for `sync.reconcile_give_up_hours`, it goes to staff."""
    url = council_server(api_key=API_KEY)
    now = [datetime(2026, 12, 1, 9, tzinfo=timezone.utc)]
    settings, store = make(tmp_path, url, clock=lambda: now[0], extra={"ASSIST_SYNC__BACKOFF_BASE_SECONDS": "30"})
    ref = store.enqueue(draft()).reference
    [item] = store.claim("crashed-worker")
    store.mark_sending(item.id, "crashed-worker")  # ... and the answer never came back
    store.db.conn.execute("UPDATE submissions SET lease_expires_at = '2000-01-01T00:00:00.000000Z'")

    async def go():
        worker = Worker(store, settings)
        client = worker.clients["default"]

        async def unsearchable(*args, **kwargs):
            raise Unsearchable("the council's server has no search of requests (404)")
        client.search = unsearchable
        try:
            return await worker.drain()
        finally:
            await worker.aclose()

    for hours in (0, 10, 23):
        now[0] = datetime(2026, 12, 1, 9, tzinfo=timezone.utc) + timedelta(hours=hours)
        make_due(store)
        report = asyncio.run(go())
        assert report.retried == 1 and store.lookup(ref).state == "sending" and council_requests(url) == []
    now[0] += timedelta(hours=1, minutes=1)
    make_due(store)
    report = asyncio.run(go())
    assert report.needs_attention == 1 and council_requests(url) == []
    [row] = store.listing(["needs_attention"])
    assert row["reference"] == ref and "cannot be searched: check with the council" in row["last_error"]
    assert store.db.conn.execute("SELECT maybe_sent FROM submissions").fetchone()[0] == 1


def test_when_the_council_is_back_what_waits_goes_at_once_not_after_its_backoff(tmp_path, council_server):
    nowhere_settings, store = make(tmp_path, "http://127.0.0.1:9/",
                                   extra={"ASSIST_SYNC__BACKOFF_BASE_SECONDS": "3600"})
    store.enqueue(draft())
    drain(store, nowhere_settings)
    assert store.counts()["queued"] == 1 and store.backoffice_states()["default"]["reachable"] == 0
    assert drain(store, nowhere_settings)[0].handled == 0  # waiting out an hour's backoff
    url = council_server(api_key=API_KEY)
    settings, _ = make(tmp_path, url, extra={"ASSIST_SYNC__BACKOFF_BASE_SECONDS": "3600"})

    async def tick():
        worker = Worker(store, settings)
        try:
            return await worker.tick()
        finally:
            await worker.aclose()
    assert asyncio.run(tick()).accepted == 1
    assert store.backoffice_states()["default"]["reachable"] == 1


def test_sync_now_makes_everything_queued_due(store, clock):
    store.enqueue(draft())
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.retry_later(item.id, "w", "cannot connect", maybe_sent=False, retry_after=3600)
    assert store.claim("w") == []
    assert store.expedite() == 1
    assert len(store.claim("w")) == 1


def test_a_council_error_that_echoes_the_form_is_stored_without_the_residents_details(store):
    from tests.helpers import DESCRIPTION, EMAIL, PHONE

    store.enqueue(draft())
    [item] = store.claim("w")
    echoed = (f"400: invalid phone {PHONE} for {EMAIL}; description '{DESCRIPTION}' "
              "at outside 4 Station Road, Brackenford")
    scrubbed_words = scrubbed(item, echoed)
    for secret in (PHONE, EMAIL, DESCRIPTION, "4 Station Road"):
        assert secret not in scrubbed_words
    assert scrubbed_words.startswith("400: invalid phone [removed]")


class CountingTransport(httpx.AsyncHTTPTransport):
    """Real HTTP, with a tally of the paths asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    async def handle_async_request(self, request):
        if request.url.params.get("page", "1") == "1":  # a list's later pages are the same fetch
            self.paths.append(request.url.path)
        return await super().handle_async_request(request)


def test_many_refusals_in_a_batch_fetch_the_catalogue_once(tmp_path, council_server):
    url = council_server(api_key=API_KEY)
    settings, store = make(tmp_path, url)
    for index in range(6):
        store.enqueue(draft(attributes={"surface": "road"}, idempotency_key=f"r{index}"))  # "size" missing
    transport = CountingTransport()
    report, _ = drain(store, settings, transport=transport)
    assert report.needs_attention == 6
    assert transport.paths.count("/services.json") == 1


def test_outcomes_are_reported_only_once_they_are_written(store, settings, caplog):
    """An outcome is logged and counted once it is written, and one that could not be written
    (the disk is full) is neither: it stays ambiguous, and is looked for next time."""
    from sync.store.db import StoreFull

    said = []

    def disk_full():
        raise StoreFull("There is no room left to save on this machine.")

    store.enqueue(draft())
    [item] = store.claim("w")

    async def go():
        worker = Worker(store, settings)
        report = DrainReport()
        try:
            recorder = worker.sender.recorder
            recorder.record(item, ("test", "first"), lambda: None, lambda: said.append("first"), report, "accepted")
            recorder.record(item, ("test", "second"), disk_full, lambda: said.append("second"), report, "accepted")
            assert said == []  # nothing is said before it is written
            await recorder.settled()
        finally:
            await worker.aclose()
        return report
    report = asyncio.run(go())
    assert report.accepted == 1 and said == ["first"]
