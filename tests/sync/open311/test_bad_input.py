"""Bad input from a back office ends in a clear, classified outcome, a log line, and a submission
that is still safe: never lost, never `accepted` with a bogus id, never POSTed twice blindly.

Each case is a real peer over loopback (tests/misbehaving.py): a Starlette app with canned
answers, a bare TCP listener that never answers (or trickles, or hangs up), or a DNS name that
cannot resolve. End to end where the submission's fate matters (enqueue, `Worker.drain()`, then
the store), at the client where the classification alone is the point.
"""

from __future__ import annotations

import logging
import time
import tracemalloc
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from sync import reference
from sync.config import BackofficeSettings, SyncSettings
from sync.open311.client import Open311Client
from sync.open311.formats import parse_body
from sync.open311.outcomes import Refused, Transient
from sync.store import parse_iso
from tests.helpers import DESCRIPTION, EMAIL, PHONE, draft
from tests.helpers import worker_drain as drain
from tests.misbehaving import (
    BILLION_LAUGHS,
    JSON,
    XML,
    RawServer,
    canned,
    gzipped,
    start_misbehaving_server,
    stop_misbehaving_server,
)
from tests.sync.open311.worker_support import make as make_store
from tests.sync.open311.worker_support import make_due

MAX_BYTES = 2048
PERSONAL = (PHONE, EMAIL, DESCRIPTION, "Ann Resident", "Station Road")


@pytest.fixture(scope="module")
def bad_server():
    server = start_misbehaving_server()
    yield server
    stop_misbehaving_server(server)


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    yield caplog
    for record in caplog.records:  # whatever went wrong, nothing personal reached a log
        text = record.getMessage()
        leaked = [value for value in PERSONAL if value in text]
        assert not leaked, f"{record.name} logged personal data {leaked}: {text!r}"


def make(tmp_path, url, *, fmt="json", name="kiosk"):
    return make_store(tmp_path, url, key="key-1", fmt=fmt, name=name, extra={
        "ASSIST_SYNC__TIMEOUT_SECONDS": "1", "ASSIST_SYNC__MAX_RESPONSE_BYTES": str(MAX_BYTES)})


def send_one(tmp_path, url, *, fmt="json"):
    """Enqueue one submission (with the resident's contact details), drain once; return what is left."""
    settings, store = make(tmp_path, url, fmt=fmt)
    ref = store.enqueue(draft()).reference
    report = drain(store, settings)
    return settings, store, ref, report


def row(store, ref) -> dict:
    keys = ("state", "last_error", "attempts", "next_attempt_at", "service_request_id")
    found = store.db.conn.execute(f"SELECT {', '.join(keys)} FROM submissions WHERE reference = ?", (ref,)).fetchone()
    return dict(zip(keys, found))


def logged(caplog, ref, *fragments) -> str:
    """The worker's log line about `ref` that names every fragment (fails if there is none)."""
    shown = reference.display(ref)
    lines = [r.getMessage() for r in caplog.records if r.name == "sync.open311.worker" and shown in r.getMessage()]
    matching = [line for line in lines if all(fragment in line for fragment in fragments)]
    assert matching, f"no worker log line about {shown} with {fragments}: {lines}"
    return matching[0]


def client(url, *, fmt="json") -> Open311Client:
    return Open311Client("default", BackofficeSettings(url=url, api_key="key-1", format=fmt),
                         SyncSettings(timeout_seconds=1, max_response_bytes=MAX_BYTES))


FIELDS = [("service_code", "pothole"), ("address_string", "1 High Street"), ("description", "A hole")]


async def transient_post(url) -> Transient:
    """What posting FIELDS to `url` failed with: it must fail as Transient (worth trying again)."""
    council = client(url)
    try:
        with pytest.raises(Transient) as raised:
            await council.create(FIELDS)
    finally:
        await council.aclose()
    return raised.value


# ---------------------------------------------------------------------------------------------
# An answer to a POST that cannot be read: the request may exist, so the submission is ambiguous


@pytest.mark.parametrize("scenario, fmt, says", [
    ("malformed_json", "json", "201 with an answer that is not Open311"),
    ("html_on_post", "json", "200 with an answer that is not Open311"),
    ("empty_201", "json", "201 with an answer that is not Open311"),
    ("xml_bomb", "xml", "DTDForbidden"),
    ("external_entity", "xml", "DTDForbidden"),
    ("oversized", "json", f"answer larger than {MAX_BYTES} bytes"),
    ("gzip_bomb", "json", f"answer larger than {MAX_BYTES} bytes"),
    ("bad_gzip", "json", "DecodingError"),
    ("brotli", "json", "answer in an encoding assist does not read (br)"),
    ("server_error", "json", "500"),
])
def test_an_unreadable_answer_to_a_post_leaves_the_submission_ambiguous(tmp_path, bad_server, logs, scenario,
                                                                        fmt, says):
    url = bad_server.scenario(scenario)
    _, store, ref, report = send_one(tmp_path, url, fmt=fmt)
    state = row(store, ref)
    assert report.retried == 1 and report.accepted == 0
    assert state["state"] == "sending" and state["service_request_id"] is None  # may exist: reconcile first
    assert says in state["last_error"] and state["attempts"] == 1
    assert store.personal(ref)["contact"] is not None  # nothing purged: the council may not have it
    assert bad_server.hits(url, "POST") == [("POST", f"requests.{fmt}")]
    assert store.backoffice_states()["default"]["reachable"] == 1
    logged(logs, ref, "will try again", says)


def test_an_ambiguous_submission_is_never_posted_again_blindly(tmp_path, bad_server, logs):
    url = bad_server.scenario("malformed_json", {
        ("POST", "requests"): canned(201, b"{oops"),
        ("GET", "services"): canned(200, [{"service_code": "pothole", "service_name": "Pothole"}]),
        ("GET", "requests"): canned(200, b"<html>search is down</html>", content_type="text/html"),
    })
    settings, store, ref, _ = send_one(tmp_path, url)
    make_due(store)
    drain(store, settings)  # the search answers nonsense: it cannot tell, so it does not send
    state = row(store, ref)
    assert state["state"] == "sending" and "requests: unreadable JSON" in state["last_error"]
    assert len(bad_server.hits(url, "POST")) == 1
    logged(logs, ref, "will try again", "requests: unreadable JSON")


def test_an_ambiguous_submission_that_cannot_be_checked_needs_a_person(tmp_path, bad_server, logs):
    url = bad_server.scenario("malformed_json", {
        ("POST", "requests"): canned(201, b"{oops"),
        ("GET", "services"): canned(200, [{"service_code": "pothole", "service_name": "Pothole"}]),
    })  # GET requests (the search) is a 404: this server cannot be searched
    settings, store, ref, _ = send_one(tmp_path, url)
    make_due(store)
    drain(store, settings)
    state = row(store, ref)
    assert state["state"] == "sending" and "cannot be searched yet" in state["last_error"]  # waits, visible
    assert len(bad_server.hits(url, "POST")) == 1  # never sent blindly a second time
    assert ("GET", "requests.json") in bad_server.hits(url, "GET")  # it did look
    logged(logs, ref, "cannot be searched")
    status = store.backoffice_states()["default"]
    assert "no search of requests (404)" in status["search_error"] and status["search_failing_since"]


def test_a_wrong_url_is_not_mistaken_for_a_server_that_cannot_be_searched(tmp_path, bad_server, logs):
    url = bad_server.scenario("malformed_json", {("POST", "requests"): canned(201, b"{oops")})  # all else 404
    settings, store, ref, _ = send_one(tmp_path, url)
    make_due(store)
    drain(store, settings)
    state = row(store, ref)
    assert state["state"] == "sending" and "404 for" in state["last_error"] and "url right?" in state["last_error"]
    assert len(bad_server.hits(url, "POST")) == 1


# ---------------------------------------------------------------------------------------------
# Answers that say the request was not taken: back to the queue


def test_429_requeues_and_honours_retry_after(tmp_path, bad_server, logs):
    url = bad_server.scenario("rate_limited")
    settings, store, ref, _ = send_one(tmp_path, url)
    state = row(store, ref)
    assert state["state"] == "queued" and "429" in state["last_error"] and "Slow down" in state["last_error"]
    wait = (parse_iso(state["next_attempt_at"]) - datetime.now(timezone.utc)).total_seconds()
    assert 110 < wait <= 120  # Retry-After: 120, not the (zero) backoff
    assert drain(store, settings).handled == 0  # not due again before then
    assert len(bad_server.hits(url, "POST")) == 1
    logged(logs, ref, "will try again", "429")


@pytest.mark.parametrize("scenario, status, state", [
    ("redirect_other_host", 302, "queued"),  # a moved endpoint: nothing was done
    ("redirect_307", 307, "queued"),  # "send the same POST there": nothing was done
    ("see_other", 303, "sending"),  # Post/Redirect/Get: the request was very likely created
])
def test_a_redirect_is_named_and_never_followed(tmp_path, bad_server, logs, scenario, status, state):
    url = bad_server.scenario(scenario)
    _, store, ref, _ = send_one(tmp_path, url)
    found = row(store, ref)
    host = "localhost" if status == 302 else "127.0.0.1"
    location = f"http://{host}:{bad_server.port}/sink/requests.json"
    assert found["state"] == state and f"{status} redirect to {location} (not followed)" in found["last_error"]
    assert bad_server.hits("sink") == []  # not followed, so the resident's details never went there
    logged(logs, ref, "redirect", location)


# ---------------------------------------------------------------------------------------------
# Answers that are real Open311, shaped the way real servers shape them


def test_a_service_request_id_of_0_is_accepted_as_0(tmp_path, bad_server, logs):
    _, store, ref, report = send_one(tmp_path, bad_server.scenario("id_zero"))
    assert report.accepted == 1
    assert row(store, ref)["state"] == "accepted" and row(store, ref)["service_request_id"] == "0"
    assert store.personal(ref)["contact"] is None  # purged: the council has it
    logged(logs, ref, "accepted by default as 0")


def test_an_xml_answer_with_a_requests_root_and_200_is_accepted(tmp_path, bad_server, logs):
    _, store, ref, _ = send_one(tmp_path, bad_server.scenario("xml_requests_root"), fmt="xml")
    assert row(store, ref)["service_request_id"] == "4711" and row(store, ref)["state"] == "accepted"
    assert "Due in 5 days" in [entry.notes for entry in store.lookup(ref).history]


@pytest.mark.parametrize("answer", [
    [{"service_request_id": {"id": 5}}], [{"service_request_id": [1, 2]}], [{"service_request_id": True}],
    [{"service_request_id": 1.5}], [{"service_request_id": "SR " * 200}], [{"service_request_id": " "}],
    [{"token": {"t": 1}}], '[{"service_request_id": NaN}]', [{"service_request_id": None, "token": ""}],
    "[" * 1500 + "]" * 1500, '"created"', 12,
], ids=["object", "list", "bool", "float", "too-long", "blank", "token-object", "nan", "none", "deep", "string",
        "number"])
async def test_a_bogus_id_is_never_accepted(bad_server, answer):
    url = bad_server.scenario("bogus", {("POST", "requests"): canned(201, answer)})
    failure = await transient_post(url)
    assert failure.maybe_sent  # whatever it was, the request may exist: reconcile, never resend


def test_a_bogus_id_leaves_the_submission_ambiguous_not_accepted(tmp_path, bad_server, logs):
    url = bad_server.scenario("bogus", {("POST", "requests"): canned(201, [{"service_request_id": {"id": 5}}])})
    _, store, ref, _ = send_one(tmp_path, url)
    assert row(store, ref)["state"] == "sending" and row(store, ref)["service_request_id"] is None
    logged(logs, ref, "will try again", "without a service_request_id")


@pytest.mark.parametrize("status, body, content_type, says", [
    (400, [{"code": 400, "description": "service_code pothole requires attribute size"}], JSON,
     "400: service_code pothole requires attribute size"),
    (400, b"<?xml version='1.0'?><errors><error><code>400</code><description>Address is outside the "
          b"borough</description></error></errors>", XML, "400: Address is outside the borough"),
    (422, {"code": 422, "detail": "lat/long out of range"}, JSON, "422: lat/long out of range"),
    (400, {"errors": [{"code": "missing", "message": "email is invalid"}]}, JSON, "400: email is invalid"),
    (400, {"error": {"message": "duplicate of 8812"}}, JSON, "400: duplicate of 8812"),
    (409, "Conflict: already reported", "text/plain", "409: Conflict: already reported"),
    (400, b"", None, "400: no reason given"),
])
async def test_error_bodies_in_every_shape_become_a_refusal_in_the_councils_words(bad_server, status, body,
                                                                                  content_type, says):
    fmt = "xml" if content_type == XML else "json"
    url = bad_server.scenario("refusal", {("POST", "requests"): canned(status, body, content_type=content_type)})
    council = client(url, fmt=fmt)
    try:
        outcome = await council.create(FIELDS)
    finally:
        await council.aclose()
    assert isinstance(outcome, Refused) and f"{outcome.status}: {outcome.message}".startswith(says)


def test_a_refusal_needs_attention_even_where_the_catalogue_cannot_be_fetched(tmp_path, bad_server, logs):
    url = bad_server.scenario("refusal", {  # and GET services is a 404, as on a misconfigured endpoint
        ("POST", "requests"): canned(400, b"<errors><error><code>400</code><description>Address is outside "
                                          b"the borough</description></error></errors>", content_type=XML)})
    _, store, ref, report = send_one(tmp_path, url, fmt="xml")
    assert report.needs_attention == 1
    assert row(store, ref) | {"next_attempt_at": None} == {
        "state": "needs_attention", "last_error": "400: Address is outside the borough", "attempts": 1,
        "next_attempt_at": None, "service_request_id": None}
    logged(logs, ref, "refused by default", "outside the borough")


# ---------------------------------------------------------------------------------------------
# Peers that never answer, hang up, or cannot be found


def test_a_server_that_never_answers_times_out_and_stays_ambiguous(tmp_path, logs):
    with RawServer("silent") as silent:
        started = time.monotonic()
        _, store, ref, report = send_one(tmp_path, silent.url)
        elapsed = time.monotonic() - started
    state = row(store, ref)
    assert report.retried == 1 and elapsed < 5  # sync.timeout_seconds = 1
    assert state["state"] == "sending" and "no answer: ReadTimeout" in state["last_error"]  # it may have arrived
    backoffice = store.backoffice_states()["default"]
    assert backoffice["reachable"] == 0 and "ReadTimeout" in backoffice["last_error"]
    logged(logs, ref, "will try again", "ReadTimeout")


@pytest.mark.slow
def test_a_server_that_trickles_forever_is_cut_off(tmp_path, logs):
    with RawServer("trickle") as trickle:
        started = time.monotonic()
        _, store, ref, _ = send_one(tmp_path, trickle.url)
        elapsed = time.monotonic() - started
    state = row(store, ref)
    assert elapsed < 6  # a byte every 0.2 s never trips the 1 s read timeout; the call's deadline does
    assert state["state"] == "sending" and "no complete answer within" in state["last_error"]
    assert store.backoffice_states()["default"]["reachable"] == 0
    logged(logs, ref, "no complete answer")


@pytest.mark.parametrize("mode, says", [("hangup", "no answer"), ("garbage", "no answer")])
def test_a_server_that_hangs_up_or_speaks_nonsense_leaves_it_ambiguous(tmp_path, logs, mode, says):
    with RawServer(mode) as raw:
        _, store, ref, _ = send_one(tmp_path, raw.url)
        assert raw.accepted >= 1
    state = row(store, ref)
    assert state["state"] == "sending" and says in state["last_error"]
    logged(logs, ref, says)


@pytest.mark.parametrize("url, says", [
    ("http://no-such-council.invalid/", "cannot connect"),
])  # a URL that is not http(s) never gets this far: the settings refuse it (tests/test_config.py)
def test_an_unresolvable_name_requeues_and_marks_the_back_office_unreachable(tmp_path, logs, url, says):
    _, store, ref, _ = send_one(tmp_path, url)
    state = row(store, ref)
    assert state["state"] == "queued" and says in state["last_error"]  # nothing left this machine
    backoffice = store.backoffice_states()["default"]
    assert backoffice["reachable"] == 0 and says in backoffice["last_error"]
    logged(logs, ref, "will try again", says)


# ---------------------------------------------------------------------------------------------
# GETs: the catalogue, tokens and searches


async def test_services_with_booleans_as_strings_make_a_catalogue(bad_server):
    council = client(bad_server.scenario("strings_for_booleans"))
    try:
        catalogue = await council.catalogue()
    finally:
        await council.aclose()
    pothole = catalogue.get("pothole")
    size, note = pothole.questions
    assert (size.code, size.required, size.variable, [v.key for v in size.values]) == (
        "size", True, True, ["small", "large"])
    assert (note.code, note.required, note.variable) == ("note", False, False)
    assert pothole.keywords == ("road", "hole") and catalogue.get("1234").attributes == ()


@pytest.mark.parametrize("answer, says", [
    (canned(200, BILLION_LAUGHS, content_type=XML), "DTDForbidden"),
    (canned(200, [{"service_code": f"s{i}", "service_name": "y" * 50} for i in range(100)]), "larger than"),
    (gzipped(200, b"[" + b" " * 5_000_000 + b"]"), "larger than"),
    (canned(200, '"all good"'), "expected a list"),
    (canned(200, "<html><body>Sign in</body></html>", content_type="text/html"), "services"),
    (canned(404, [{"code": 404, "description": "not found"}]), "404"),
])
async def test_a_catalogue_that_cannot_be_read_is_a_transient_failure(bad_server, answer, says):
    fmt = "xml" if says == "DTDForbidden" else "json"
    council = client(bad_server.scenario("catalogue", {("GET", "services"): answer}), fmt=fmt)
    try:
        with pytest.raises(Transient) as raised:
            await council.catalogue()
    finally:
        await council.aclose()
    assert says in raised.value.reason and not raised.value.maybe_sent


async def test_a_gzip_bomb_is_refused_without_inflating_it(bad_server):
    url = bad_server.scenario("bomb", {("GET", "services"): gzipped(200, b" " * 50_000_000)})
    council = client(url)
    tracemalloc.start()
    try:
        with pytest.raises(Transient, match=f"answer larger than {MAX_BYTES} bytes"):
            await council.services_checked()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        await council.aclose()
    assert peak < 10_000_000  # inflated only to the cap, not the 50 MB it expands to


async def test_the_councils_clock_is_read_from_a_date_without_a_zone(bad_server):
    url = bad_server.scenario("clock", {("GET", "services"): canned(
        200, [{"service_code": "pothole", "service_name": "Pothole"}],
        headers={"date": "Tue, 24 Nov 2026 10:00:00 -0000"})})
    council = client(url)
    try:
        await council.services_checked()
    finally:
        await council.aclose()
    now = council.server_now()
    assert now.tzinfo is not None and abs(now - datetime(2026, 11, 24, 10, tzinfo=timezone.utc)) < timedelta(minutes=1)


async def test_tokens_and_ids_from_the_council_stay_one_path_segment(bad_server):
    url = bad_server.scenario("tokens", {("GET", "tokens/*"): canned(200, [{"service_request_id": "77"}]),
                                         ("GET", "requests/*"): canned(200, [{"service_request_id": "77"}])})
    council = client(url)
    try:
        assert await council.token("a/../b c?d#e") == "77"
        assert (await council.request("x/y?z"))["service_request_id"] == "77"
    finally:
        await council.aclose()
    assert bad_server.raw_paths(url) == [f"/{url.rstrip('/').rsplit('/', 1)[1]}/tokens/a%2F..%2Fb%20c%3Fd%23e.json",
                                         f"/{url.rstrip('/').rsplit('/', 1)[1]}/requests/x%2Fy%3Fz.json"]


async def test_a_token_answer_that_is_not_a_list_is_transient(bad_server):
    council = client(bad_server.scenario("tokens", {("GET", "tokens/*"): canned(200, "42")}))
    try:
        with pytest.raises(Transient):
            await council.token("abc")
    finally:
        await council.aclose()


@pytest.mark.parametrize("header, expected", [
    ("120", 120), ("0", 0), ("soon", None), ("-5", None), ("²", None), ("99999999999999", 86400),
    ("in the past", None),
])
async def test_retry_after_in_every_form(bad_server, header, expected):
    url = bad_server.scenario("busy", {("POST", "requests"): canned(429, b"", headers={"retry-after": header})})
    failure = await transient_post(url)
    assert failure.retry_after == expected and not failure.maybe_sent


@pytest.mark.parametrize("zone", ["GMT", "-0000"])
async def test_retry_after_as_a_date(bad_server, zone):
    moment = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(minutes=10)
    header = format_datetime(moment, usegmt=True).replace("GMT", zone)
    url = bad_server.scenario("busy", {("POST", "requests"): canned(503, b"down", headers={"retry-after": header})})
    failure = await transient_post(url)
    assert 590 < failure.retry_after <= 600 and failure.maybe_sent  # a 5xx may have been half-done


def test_parse_body_refuses_what_is_malformed_or_dangerous():
    for content, fmt in [(b"{", "json"), (b"\xff\xfe", "json"), (b"[" * 5000, "json"), (BILLION_LAUGHS, "xml"),
                         (b"<a>" * 5000 + b"</a>" * 5000, "xml"), (b"<a><b></a>", "xml"), ("1" * 5000, "json")]:
        with pytest.raises(ValueError):
            parse_body(content if isinstance(content, bytes) else content.encode(), fmt)
