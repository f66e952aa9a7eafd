"""Residents' follow-ups ("not fixed", a comment): kept in the store, sent once by the worker's
follow-up sender to a loopback back office that records what it is sent."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sync.config import load_settings
from sync.open311.client import Open311Client
from sync.open311.followup_sender import FollowUpSender
from sync.reference import display
from sync.store import Store, migrations
from sync.store.followups import FollowUps, Refusal
from tests.conftest import Clock
from tests.helpers import draft, worker_round
from tests.peers import serve_in_thread

API_KEY = "council-key-1"
COMMENT = "Still a deep hole, my neighbour Mrs Jones tripped on it"
ADDRESS = "outside 4 Station Road, Brackenford"


class FakeCouncil:
    """An Open311 back office with mySociety's update extension, on loopback: it records every
    POST, lists what it has (for look-ups), and can answer 404 to updates or lose an answer."""

    def __init__(self) -> None:
        self.updates: list[dict[str, str]] = []
        self.requests: list[dict[str, str]] = []
        self.update_posts = 0
        self.updates_missing = False  # POST servicerequestupdates answers 404
        self.lose_answer = 0  # the next N POSTs are kept, but answered with 502
        self.refuse_with: str | None = None  # the next update is refused with 400 and these words
        self.updates_unlisted = False  # GET servicerequestupdates answers 404
        app = Starlette(routes=[
            Route("/servicerequestupdates.json", self.post_update, methods=["POST"]),
            Route("/servicerequestupdates.json", self.list_updates, methods=["GET"]),
            Route("/requests.json", self.post_request, methods=["POST"]),
            Route("/requests.json", self.list_requests, methods=["GET"]),
        ])
        self.running = serve_in_thread(app, name="fake-council")
        self.url = f"http://127.0.0.1:{self.running.port}/"

    @staticmethod
    def _json(body, status: int = 200) -> Response:
        return Response(json.dumps(body), status_code=status, media_type="application/json")

    def _answer(self, body) -> Response:
        if self.lose_answer:
            self.lose_answer -= 1
            return self._json([{"code": 502, "description": "bad gateway"}], 502)
        return self._json(body)

    async def post_update(self, request: Request) -> Response:
        self.update_posts += 1
        if self.updates_missing:
            return self._json([{"code": 404, "description": "not found"}], 404)
        fields = dict(parse_qsl((await request.body()).decode()))
        if self.refuse_with:
            return self._json([{"code": 400, "description": f"{self.refuse_with} ({fields['description']})"}], 400)
        fields["council_update_id"] = f"U{len(self.updates) + 1}"
        self.updates.append(fields)
        return self._answer([{"update_id": fields["council_update_id"]}])

    async def list_updates(self, request: Request) -> Response:
        if self.updates_unlisted:
            return self._json([{"code": 404, "description": "not found"}], 404)
        return self._json([{"update_id": u["council_update_id"], "service_request_id": u["service_request_id"],
                            "status": u["status"].lower(), "description": u["description"],
                            "updated_datetime": u["updated_datetime"]} for u in self.updates])

    async def post_request(self, request: Request) -> Response:
        fields = dict(parse_qsl((await request.body()).decode()))
        fields["service_request_id"] = str(9000 + len(self.requests) + 1)
        self.requests.append(fields)
        return self._answer([{"service_request_id": fields["service_request_id"]}])

    async def list_requests(self, request: Request) -> Response:
        return self._json([{"service_request_id": r["service_request_id"], "description": r["description"]}
                           for r in self.requests])


@pytest.fixture
def council():
    server = FakeCouncil()
    yield server
    server.running.stop()


def open_store(tmp_path, url: str, updates: str = "fixmystreet", clock: Clock | None = None):
    settings = load_settings(environ={
        "ASSIST_STORE__PATH": str(tmp_path / "store" / "assist.db"), "ASSIST_BACKOFFICE__URL": url,
        "ASSIST_BACKOFFICE__API_KEY": API_KEY, "ASSIST_BACKOFFICE__UPDATES": updates,
        "ASSIST_KIOSK__DEVICE_ID": "kiosk-1", "ASSIST_SYNC__TIMEOUT_SECONDS": "2"})
    return settings, Store.open(settings, clock=clock or Clock(), backoff_base_seconds=0)


def accepted(store, council_id: str = "4242", **changes) -> str:
    """A request the council has (as the worker leaves it), by its reference."""
    saved = store.enqueue(draft(**changes))
    [item] = [claimed for claimed in store.claim("test") if claimed.id == saved.id]
    store.mark_sending(item.id, "test")
    store.mark_accepted(item.id, "test", council_id)
    return saved.reference


def send(store, settings, url: str | None = None):
    """One worker round of follow-ups, with clients made as the worker makes them."""
    async def go():
        backoffice = settings.backoffice if url is None else type(settings.backoffice)(
            **{**settings.backoffice.__dict__, "url": url})
        clients = {"default": Open311Client("default", backoffice, settings.sync)}
        try:
            return await FollowUpSender(store, settings, clients, owner="worker-1").send_due()
        finally:
            await clients["default"].aclose()
    return asyncio.run(go())


@pytest.fixture
def made(tmp_path, council):
    settings, store = open_store(tmp_path, council.url)
    yield settings, store
    store.close()


def test_not_fixed_reaches_the_council_as_a_reopening_update_once(made, council):
    settings, store = made
    reference = accepted(store)
    added = FollowUps(store).add(reference, "not_fixed", COMMENT, channel="kiosk")

    report = send(store, settings)

    assert report.sent == 1 and report.fallback == 0
    [update] = council.updates
    assert update["api_key"] == API_KEY and update["service_request_id"] == "4242"
    assert update["update_id"] == f"{reference}-1" == added.update_id
    assert update["status"] == "REOPEN" and COMMENT in update["description"]
    assert datetime.fromisoformat(update["updated_datetime"].replace("Z", "+00:00")).tzinfo is not None
    [row] = FollowUps(store).listing(reference)
    assert (row["state"], row["route"], row["council_update_id"]) == ("sent", "update", "U1")
    history = store.lookup(reference).history[-1]
    assert (history.status, history.notes, history.source) == ("not_fixed_sent", "sent to the council", "local")
    assert send(store, settings).sent == 0 and council.update_posts == 1  # never twice


def test_a_comment_on_an_open_request_is_an_open_update(made, council):
    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "comment", "The cones have gone", channel="kiosk")
    send(store, settings)
    assert council.updates[0]["status"] == "OPEN"


def test_without_an_update_endpoint_it_becomes_a_new_request_and_that_is_remembered(made, council):
    settings, store = made
    council.updates_missing = True
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="sms")

    report = send(store, settings)

    assert report.fallback == 1 and council.update_posts == 1
    [made_request] = council.requests
    assert made_request["description"].startswith(f"[assist reference {display(reference)}] Follow-up to request "
                                                  "4242: not fixed")
    assert made_request["service_code"] == "pothole" and made_request["address_string"] == ADDRESS
    assert "email" not in made_request and "first_name" not in made_request  # no contact details
    assert FollowUps(store).listing(reference)[0]["council_update_id"] == "9001"
    FollowUps(store).add(reference, "not_fixed", channel="sms")
    send(store, settings)
    assert council.update_posts == 1 and len(council.requests) == 2  # straight to a new request


def test_a_back_office_without_updates_configured_gets_a_new_request(tmp_path, council):
    settings, store = open_store(tmp_path, council.url, updates="")
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")
    assert send(store, settings).fallback == 1 and council.update_posts == 0
    store.close()


def test_a_lost_answer_is_looked_for_and_not_posted_again(made, council):
    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")
    council.lose_answer = 1  # it arrives, the answer does not

    assert send(store, settings).retried == 1
    assert FollowUps(store).listing(reference)[0]["state"] == "sending"  # ambiguous, not queued
    report = send(store, settings)

    assert report.found == 1 and council.update_posts == 1 and len(council.updates) == 1
    assert FollowUps(store).listing(reference)[0]["council_update_id"] == "U1"


def test_a_lost_answer_to_a_follow_up_sent_as_a_new_request_is_found_by_its_tag(tmp_path, council):
    settings, store = open_store(tmp_path, council.url, updates="")
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")
    council.lose_answer = 1  # the new request arrives, the answer does not

    assert send(store, settings).retried == 1
    report = send(store, settings)

    assert report.found == 1 and len(council.requests) == 1  # looked for, never posted twice
    [row] = FollowUps(store).listing(reference)
    assert (row["state"], row["route"], row["council_update_id"]) == ("sent", "request", "9001")
    store.close()


def test_a_follow_up_not_found_after_a_lost_answer_is_sent_again_with_the_same_update_id(made, council):
    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")
    council.lose_answer = 1
    send(store, settings)
    council.updates.clear()  # the council never kept it after all

    send(store, settings)

    [update] = council.updates
    assert update["update_id"] == f"{reference}-1" and council.update_posts == 2


def test_offline_it_waits_in_the_queue_then_goes_once(made, council):
    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")
    with serve_nothing() as dead_url:
        report = send(store, settings, url=dead_url)
    assert report.retried == 1 and FollowUps(store).listing(reference)[0]["state"] == "queued"

    assert send(store, settings).sent == 1
    assert send(store, settings).sent == 0 and council.update_posts == 1


class serve_nothing:
    """A loopback URL where nothing listens (the kiosk is offline)."""

    def __enter__(self) -> str:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return f"http://127.0.0.1:{self.port}/"

    def __exit__(self, *exc) -> None:
        return None


def test_bad_follow_ups_are_refused_with_a_reason(made):
    settings, store = made
    followups = FollowUps(store)
    with pytest.raises(Refusal) as unknown:
        followups.add("K7Q-4MB-XP9Z", "not_fixed", channel="kiosk")
    assert unknown.value.outcome == "unknown"
    waiting = store.enqueue(draft()).reference  # saved here, not at the council yet
    with pytest.raises(Refusal) as not_accepted:
        followups.add(waiting, "not_fixed", channel="kiosk")
    assert not_accepted.value.outcome == "not_accepted"
    reference = accepted(store, council_id="4243")
    with pytest.raises(Refusal) as empty:
        followups.add(reference, "comment", "   ", channel="kiosk")
    assert empty.value.outcome == "empty"
    store.record_status(_id(store, reference), "fixed", None, closed=True)
    with pytest.raises(Refusal) as closed:
        followups.add(reference, "comment", "thanks", channel="kiosk")
    assert closed.value.outcome == "closed"
    assert followups.add(reference, "not_fixed", channel="kiosk").number == 1  # that is the point: reopen it


def _id(store, reference: str) -> int:
    return store.db.conn.execute("SELECT id FROM submissions WHERE reference = ?", (reference,)).fetchone()[0]


def test_a_refusal_is_held_for_staff_without_the_residents_words_anywhere(made, council, caplog):
    settings, store = made
    reference = accepted(store)
    council.refuse_with = "update text not allowed"
    caplog.set_level(logging.DEBUG)
    FollowUps(store).add(reference, "comment", COMMENT, channel="kiosk")

    report = send(store, settings)

    assert report.needs_attention == 1
    [row] = FollowUps(store).listing(reference)
    assert row["state"] == "needs_attention" and "update text not allowed" in row["last_error"]
    assert COMMENT not in row["last_error"] and "[removed]" in row["last_error"]
    assert store.lookup(reference).history[-1].status == "followup_held"
    logged = caplog.text
    assert reference[:3] in logged and COMMENT not in logged and "Mrs Jones" not in logged and ADDRESS not in logged


def test_comments_are_sealed_and_purged_once_sent(made, council):
    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", COMMENT, channel="kiosk")
    sealed = store.db.conn.execute("SELECT comment, original FROM followups").fetchone()
    assert all(value is not None and COMMENT.encode() not in value and b"Station" not in value for value in sealed)
    send(store, settings)
    assert store.db.conn.execute("SELECT comment, original FROM followups").fetchone() == (None, None)


def test_the_retention_purge_takes_a_held_comment_but_keeps_an_open_requests_place(tmp_path, council):
    clock = Clock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    settings, store = open_store(tmp_path, council.url, clock=clock)
    reference = accepted(store)
    council.refuse_with = "no"
    FollowUps(store).add(reference, "comment", COMMENT, channel="kiosk")
    send(store, settings)  # held for staff, comment still sealed in it
    clock.advance(days=settings.store.retention_days + 1)

    purged = store.purge()

    assert purged["expired"] == 1 and purged["followups"] == 1 and purged["followup_places_kept"] == 1
    assert store.db.conn.execute("SELECT comment FROM followups").fetchone() == (None,)
    council.refuse_with, council.updates_missing = None, True
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")  # months on, still broken
    assert send(store, settings).fallback == 1
    assert council.requests[0]["address_string"] == ADDRESS  # the place was kept while open
    store.close()


def test_the_migration_is_number_8_and_applies_on_an_existing_store(tmp_path):
    from sync.store import db as db_module

    db = db_module.connect(tmp_path / "old.db", migrate=False)
    migrations.apply(db, target=7)
    assert migrations.apply(db) == [number for number, _, _ in migrations.MIGRATIONS if number > 7]
    tables = {name for (name,) in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"followups", "followup_places", "followup_backoffices"} <= tables


def test_a_lost_answer_where_updates_cannot_be_listed_is_held_for_staff_not_resent(made, council):
    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")
    council.lose_answer, council.updates_unlisted = 1, True
    send(store, settings)

    report = send(store, settings)

    assert report.needs_attention == 1 and council.update_posts == 1
    assert "cannot be searched" in FollowUps(store).listing(reference)[0]["last_error"]


def test_the_workers_round_sends_due_follow_ups(made, council):

    settings, store = made
    reference = accepted(store)
    FollowUps(store).add(reference, "not_fixed", channel="kiosk")

    worker_round(store, settings)

    assert [update["update_id"] for update in council.updates] == [f"{reference}-1"]


@pytest.mark.parametrize("profile", ["default", "strict"])
def test_not_fixed_reopens_the_request_at_the_reference_back_office(tmp_path, council_server, profile):
    """End to end against the reference back office's FixMyStreet update extension, including
    a closed input schema: the request is accepted there, closed by the council, and a resident's
    "not fixed" reopens it, once."""

    url = council_server(profile=profile, api_key=API_KEY)
    settings = load_settings(environ={
        "ASSIST_STORE__PATH": str(tmp_path / "store" / "assist.db"), "ASSIST_BACKOFFICE__URL": url,
        "ASSIST_BACKOFFICE__API_KEY": API_KEY, "ASSIST_BACKOFFICE__UPDATES": "fixmystreet",
        "ASSIST_KIOSK__LOCATION": "52.2,0.12", "ASSIST_KIOSK__DEVICE_ID": "kiosk-1"})
    store = Store.open(settings)
    reference = store.enqueue(draft()).reference

    assert worker_round(store, settings).accepted == 1
    council_id = store.db.conn.execute("SELECT service_request_id FROM submissions").fetchone()[0]
    url.app.state.db.change_status(council_id, status="closed", note="Filled", now=datetime.now(timezone.utc))
    FollowUps(store).add(reference, "not_fixed", COMMENT, channel="sms")
    worker_round(store, settings)
    worker_round(store, settings)
    [update] = [u for u in url.app.state.db.updates(start=None, end=None, limit=None) if u["status"] == "reopen"]
    assert update["service_request_id"] == council_id and COMMENT in update["description"]
    assert url.app.state.db.get(council_id)["status"] == "open"
    [row] = FollowUps(store).listing(reference)
    assert row["state"] == "sent" and row["route"] == "update"
    store.close()


def test_a_follow_up_that_cannot_be_opened_is_held_and_the_rest_go(made, council, caplog):
    """One damaged sealed comment never stops the worker's round: it is held for staff, by
    reference only, and the other follow-ups are sent."""
    settings, store = made
    damaged = accepted(store, idempotency_key="damaged")
    fine = accepted(store, council_id="4343", idempotency_key="fine")
    FollowUps(store).add(damaged, "not_fixed", COMMENT, channel="kiosk")
    FollowUps(store).add(fine, "not_fixed", COMMENT, channel="kiosk")
    row_id, sealed = store.db.conn.execute("SELECT f.id, f.comment FROM followups AS f JOIN submissions AS s "
                                           "ON s.id = f.submission_id WHERE s.reference = ?", (damaged,)).fetchone()
    flipped = bytearray(sealed)
    flipped[20] ^= 0x01  # one flipped bit
    store.db.conn.execute("UPDATE followups SET comment = ? WHERE id = ?", (bytes(flipped), row_id))
    with caplog.at_level(logging.WARNING):
        report = send(store, settings)
    assert report.sent == 1 and [u["service_request_id"] for u in council.updates] == ["4343"]
    [held] = FollowUps(store).listing(damaged)
    assert held["state"] == "needs_attention"
    assert "cannot be opened with this store's key" in caplog.text and COMMENT not in caplog.text
