"""The families of real Open311 servers, one behaviour at a time: how each is searched and paged,
what its empty lists look like, how it says a key is wrong, and what it does with a place given in
words. Against the reference back office's profiles over loopback (docs/open311-servers.md), and
the canned server of tests/misbehaving.py where only a canned answer will do.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta, timezone

import pytest

from sync import reference
from sync.config import BackofficeSettings, SyncSettings, load_settings
from sync.open311.client import Open311Client
from sync.open311.form import request_fields
from sync.open311.formats import parse_body, records
from sync.open311.outcomes import Unsearchable
from sync.open311.paging import DEFAULT_CAP, Paging
from sync.open311.reconcile import GIVE_UP_REASON
from tests.helpers import draft
from tests.misbehaving import canned, start_misbehaving_server, stop_misbehaving_server
from tests.sync.open311.worker_support import drain, make, make_due

KEY = "family-key"


def client_for(url: str, fmt: str = "json", key: str = KEY) -> Open311Client:
    return Open311Client("default", BackofficeSettings(url=url, api_key=key, format=fmt),
                         SyncSettings(timeout_seconds=5))


def seed(url, count: int, *, code: str = "pothole", hours: float = 23) -> list[str]:
    """`count` requests already at the council, spread over the last `hours`; their ids."""
    now = datetime.now(timezone.utc)
    rows = []
    for index in range(count):
        moment = now - timedelta(hours=hours) + timedelta(seconds=index * hours * 3600 / max(count, 1))
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        rows.append((code, code.title(), "open", f"Someone else's report {index}", stamp, int(moment.timestamp()),
                     stamp, int(moment.timestamp())))

    def insert(conn):
        conn.executemany("INSERT INTO requests (service_code, service_name, status, description, requested_datetime, "
                         "requested_ts, updated_datetime, updated_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("UPDATE requests SET service_request_id = 'S' || id WHERE service_request_id IS NULL")
    url.app.state.db._write(insert)
    return [row["service_request_id"] for row in url.app.state.db.all_requests()]


def council_rows(url) -> list[dict]:
    """What the council holds, read from its own file: a strict server refuses the usual search."""
    return url.app.state.db.all_requests()


def search(url, fmt="json", code="pothole", days=2):
    async def go():
        client = client_for(url, fmt)
        try:
            now = datetime.now(timezone.utc)
            return await client.search(code, now - timedelta(days=days), now + timedelta(hours=1)), client.paging
        finally:
            await client.aclose()
    return asyncio.run(go())


# -- searching and paging -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_server_that_pages_at_its_own_size_is_read_to_the_last_page(council_server, fmt):
    """Pages of 100 whatever page_size says, 404 past the last: every request is seen, including a
    search that ends on an exactly full page."""
    url = council_server(profile="paged", api_key=KEY)
    ids = seed(url, 200)
    found, paging = search(url, fmt)
    assert sorted(r["service_request_id"] for r in found) == sorted(ids)
    assert paging["requests"] == Paging("own", 100)


def test_a_closed_schema_that_refuses_paging_is_asked_without_it(council_server):
    url = council_server(profile="strict", api_key=KEY)
    ids = seed(url, 30)
    found, paging = search(url)
    assert sorted(r["service_request_id"] for r in found) == sorted(ids)
    assert paging["requests"].style == "refused"
    assert "refuses paging" in paging["requests"].describe()


def test_an_unpaged_answer_at_the_cap_is_split_until_it_is_complete(council_server):
    url = council_server(profile="capped", api_key=KEY)
    ids = seed(url, DEFAULT_CAP + 60)
    found, paging = search(url)
    assert len(found) == DEFAULT_CAP + 60 and sorted(r["service_request_id"] for r in found) == sorted(ids)
    assert paging["requests"].unpaged


def test_a_server_without_a_search_is_unsearchable_not_empty(council_server):
    url = council_server(profile="unsearchable", api_key=KEY)
    seed(url, 3)
    with pytest.raises(Unsearchable, match="404"):
        search(url)


def test_a_search_refused_however_it_is_asked_is_unsearchable(council_server):
    """A 400 to the search with and without paging: it cannot prove anything absent."""
    server = start_misbehaving_server()
    try:
        url = server.scenario("refuses_search", {("GET", "requests"): canned(400, [{"code": 400, "description":
                                                                               "search not allowed"}])})
        with pytest.raises(Unsearchable, match="search not allowed"):
            search(url)
    finally:
        stop_misbehaving_server(server)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_services_list_is_read_to_its_last_page(council_server, fmt):
    """107 services on a server that pages at 100: all 107, not "catalogue refreshed: 100"."""
    from sync.catalogue import Catalogue, Service, bundled

    base = bundled().services[0]
    many = Catalogue(version="many", source="test", services=tuple(
        Service(**{**base.__dict__, "code": f"S{index:03d}", "name": f"Service {index}"}) for index in range(107)))
    url = council_server(profile="paged", api_key=KEY, catalogue=many)

    async def go():
        client = client_for(url, fmt)
        try:
            return await client.catalogue()
        finally:
            await client.aclose()
    assert len(asyncio.run(go()).services) == 107


# -- formats ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"<requests></requests>", b"<service_requests/>", b"<services/>",
                                  b"<?xml version='1.0'?>\n<requests>\n  </requests>", b"<anything/>"])
def test_an_empty_xml_list_is_an_empty_list_whatever_it_is_called(body):
    assert records(parse_body(body, "xml")) == []


@pytest.mark.parametrize("root", ["service_requests", "requests", "results"])
def test_xml_lists_are_read_whatever_their_root(root):
    body = (f"<{root}><request><service_request_id>0</service_request_id></request>"
            f"<request><service_request_id>x-7f</service_request_id></request></{root}>").encode()
    assert [r["service_request_id"] for r in records(parse_body(body, "xml"))] == ["0", "x-7f"]


def test_a_quiet_xml_server_lets_a_lost_answer_be_proved_absent_and_sent(tmp_path, council_server):
    """`<requests></requests>` is "none", not an error: the lost one is proved absent and sent."""
    url = council_server(profile="xml-bare", api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY, fmt="xml")
    store.enqueue(draft(idempotency_key="first"))
    assert drain(store, settings)[0].accepted == 1  # the request its searches are proved with
    ref = store.enqueue(draft(service_code="pavement", attributes={}, idempotency_key="lost")).reference
    [item] = store.claim("crashed")
    store.mark_sending(item.id, "crashed")  # the answer never came back, nor did the request arrive
    store.db.conn.execute("UPDATE submissions SET lease_expires_at = NULL")
    report, _ = drain(store, settings)
    assert report.accepted == 1 and store.lookup(ref).state == "accepted"
    assert [r for r in council_rows(url) if reference.display(ref) in r["description"]]


# -- a lost answer, a search that cannot prove it absent ------------------------------------------


def lost_answer(store, service_code="pothole"):
    ref = store.enqueue(draft(service_code=service_code, idempotency_key=f"lost-{service_code}")).reference
    [item] = store.claim("crashed")
    store.mark_sending(item.id, "crashed")
    store.db.conn.execute("UPDATE submissions SET lease_expires_at = NULL")
    return ref


def test_a_server_that_cuts_descriptions_still_finds_the_reference(tmp_path, council_server):
    url = council_server(profile="truncating", api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY)
    store.enqueue(draft(description="x" * 600, idempotency_key="first"))
    assert drain(store, settings)[0].accepted == 1
    store.enqueue(draft(description="y" * 600, idempotency_key="second"))
    [item] = store.claim("crashed")
    ids_before = {r["service_request_id"] for r in council_rows(url)}
    # It arrived; the answer was lost.
    asyncio.run(_post_and_lose(url, store, item))
    store.db.conn.execute("UPDATE submissions SET lease_expires_at = NULL")
    report, _ = drain(store, settings)
    assert report.reconciled == 1 and len(council_rows(url)) == len(ids_before) + 1


async def _post_and_lose(url, store, item):
    store.mark_sending(item.id, "crashed")
    client = client_for(url)
    try:
        await client.create(request_fields(item, load_settings(environ={}).kiosk))
    finally:
        await client.aclose()


def test_a_search_that_cannot_find_a_known_request_proves_nothing(tmp_path, council_server, caplog):
    """A back office whose search misses what it accepted (here: filtering on a field that hides
    it) is unsearchable: the lost one waits, never sent blindly, and `assist sync status` says so."""
    url = council_server(api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY)
    store.enqueue(draft(idempotency_key="first"))
    assert drain(store, settings)[0].accepted == 1
    url.app.state.db._write(lambda conn: conn.execute("UPDATE requests SET description = 'rewritten by staff'"))
    lost_answer(store)
    before = len(council_rows(url))
    with caplog.at_level(logging.INFO):
        report, _ = drain(store, settings)
    assert report.retried == 1 and len(council_rows(url)) == before  # not sent again
    state = store.backoffice_states()["default"]
    assert "did not find" in state["search_error"] and state["search_failing_since"]


def test_sync_status_names_a_back_office_whose_searches_fail(tmp_path, council_server, run, env):
    url = council_server(profile="unsearchable", api_key=KEY)
    env.update({"ASSIST_BACKOFFICE__URL": url, "ASSIST_BACKOFFICE__API_KEY": KEY})
    settings, store = make(tmp_path, url, key=KEY)
    from sync.store import Store

    store = Store.open(load_settings(environ=env))
    lost_answer(store)
    drain(store, load_settings(environ=env))
    result = run("sync", "status")
    assert "its searches FAIL since" in result.output and "no search of requests (404)" in result.output
    data = json.loads(run("sync", "status", "--json").output)
    assert data["backoffices"]["default"]["search_failing_since"]


@pytest.mark.slow
def test_a_weekend_outage_does_not_run_the_give_up_clock(tmp_path, council_server):
    """The clock runs only while the council answers but cannot be searched."""
    url = council_server(profile="unsearchable", api_key=KEY)
    now = [datetime(2026, 12, 4, 18, tzinfo=timezone.utc)]
    settings, store = make(tmp_path, url, key=KEY, clock=lambda: now[0],
                           extra={"ASSIST_SYNC__BACKOFF_BASE_SECONDS": "30"})
    nowhere, _ = make(tmp_path, "http://127.0.0.1:9/", key=KEY)
    ref = lost_answer(store)

    def look(using, hours):
        now[0] += timedelta(hours=hours)
        make_due(store)
        drain(store, using)

    look(settings, 0)        # Friday: answered, cannot be searched (the clock starts)
    for _ in range(6):       # the weekend: unreachable, eight hours at a time
        look(nowhere, 8)
    look(settings, 1)        # Monday: answered again
    look(settings, 20)       # 21 hours counted in all: still waiting
    assert store.lookup(ref).state == "sending"
    look(settings, 4)        # past 24 hours of being answered but unsearchable
    assert store.lookup(ref).state == "needs_attention"
    [row] = store.listing(["needs_attention"])
    assert row["last_error"] == GIVE_UP_REASON


# -- keys, poison, places in words ----------------------------------------------------------------


def test_a_wrong_key_answered_with_400_pauses_and_fails_nothing(tmp_path, council_server):
    url = council_server(profile="strict", api_key=KEY)
    settings, store = make(tmp_path, url, key="wrong-key", extra={"ASSIST_KIOSK__LOCATION": "52.2,0.12"})
    for index in range(5):
        store.enqueue(draft(idempotency_key=f"k{index}"))
    report, _ = drain(store, settings)
    assert report.needs_attention == 0 and report.paused == {"default"}
    assert store.counts()["queued"] == 5 and council_rows(url) == []
    assert store.backoffice_states()["default"]["paused"]
    fixed, _ = make(tmp_path, url, key=KEY, extra={"ASSIST_KIOSK__LOCATION": "52.2,0.12"})

    async def reprobe():
        from sync.open311.worker import Worker

        worker = Worker(store, fixed)
        try:
            await worker.probe_paused()
            return await worker.drain()
        finally:
            await worker.aclose()
    asyncio.run(reprobe())
    assert not store.backoffice_states()["default"]["paused"] and store.counts()["accepted"] == 5


def test_a_refusal_of_the_request_itself_still_needs_a_person(tmp_path, council_server):
    """The same server, the right key, a request it refuses: not mistaken for a key problem."""
    url = council_server(api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY)
    store.enqueue(draft(attributes={"surface": "road"}))  # "size" missing
    report, _ = drain(store, settings)
    assert report.needs_attention == 1 and not report.paused


def test_a_place_in_words_gets_coordinates_for_a_server_that_requires_them(tmp_path, council_server):
    url = council_server(profile="strict", api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY, extra={"ASSIST_KIOSK__LOCATION": "52.2053,0.1218"})
    ref = store.enqueue(draft(location={"address_string": "by the big oak on the green"})).reference
    assert drain(store, settings)[0].accepted == 1
    [request] = [r for r in council_rows(url) if reference.display(ref) in r["description"]]
    assert float(request["lat"]) == pytest.approx(52.2053)
    assert "Where: by the big oak on the green" in request["description"]


def test_a_request_answered_with_500_again_and_again_goes_to_staff(tmp_path, council_server, caplog):
    """Without coordinates a strict server answers 500 to this request for ever, while it accepts
    others: after `sync.poison_attempts` it needs attention, maybe sent, and nothing personal is said."""
    url = council_server(profile="strict", api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY, extra={"ASSIST_SYNC__POISON_ATTEMPTS": "3"})
    ref = store.enqueue(draft(location={"address_string": "behind 9 Orchard Way"}, idempotency_key="poison")).reference
    for attempt in range(4):
        store.enqueue(draft(location={"lat": 52.2, "long": 0.12}, idempotency_key=f"fine-{attempt}"))
        store.db.conn.execute("UPDATE submissions SET next_attempt_at = '2000-01-01T00:00:00.000000Z', "
                              "lease_expires_at = NULL")
        with caplog.at_level(logging.INFO):
            drain(store, settings)
    assert store.lookup(ref).state == "needs_attention" and store.counts()["accepted"] == 4
    maybe_sent, last_error = store.db.conn.execute("SELECT maybe_sent, last_error FROM submissions WHERE reference = ?",
                                                   (ref,)).fetchone()
    assert maybe_sent == 1 and "3 times in a row while accepting others" in last_error
    assert "Orchard" not in last_error and "Orchard" not in caplog.text


def test_a_place_in_words_takes_the_gazetteers_coordinates_before_the_librarys(tmp_path, council_server):
    """Words the gazetteer can place ("near 12 high st") are sent with that street's coordinates;
    only words it cannot place fall back to `kiosk.location`."""
    from sync.places import gazetteer

    url = council_server(profile="strict", api_key=KEY)
    settings, store = make(tmp_path, url, key=KEY, extra={"ASSIST_KIOSK__LOCATION": "51.0,-1.0"})
    gazetteer.import_csv(store.db, gazetteer.DEMO_CSV)
    [place] = gazetteer.search(store.db, "12 high st", limit=1)
    placed = store.enqueue(draft(location={"address_string": "12 high st"}, idempotency_key="placed")).reference
    unplaced = store.enqueue(draft(location={"address_string": "by the big oak"}, idempotency_key="oak")).reference
    assert drain(store, settings)[0].accepted == 2
    sent = {ref: request for request in council_rows(url) for ref in reference.find_in(request["description"])}
    assert (float(sent[placed]["lat"]), float(sent[placed]["long"])) == pytest.approx((place.lat, place.lon))
    assert (float(sent[unplaced]["lat"]), float(sent[unplaced]["long"])) == pytest.approx((51.0, -1.0))
