"""The staff's pages over loopback HTTP: sign-in, the fleet page, a kiosk's page, sign-out."""

from __future__ import annotations

import html
import logging
import re
from datetime import timedelta

import httpx
import pytest

from fleet.pages import CSRF_COOKIE, SESSION_COOKIE
from tests.fleet.fleet_support import PASSWORD, heartbeat_body, sign_in
from tests.fleet.fleet_support import csrf as _csrf


@pytest.fixture
def browser(fleet, fleet_clock):
    """A staff account, and a client that keeps cookies as a browser does (no redirects followed)."""
    fleet.add_staff()
    with httpx.Client(base_url=fleet.url) as client:
        yield client


def _text(page: httpx.Response) -> str:
    """The page's words, tags out, as a screen reader meets them in order."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_signing_in_opens_the_fleet_page_with_a_strict_httponly_session_cookie(browser):
    page = browser.get("/fleet/sign-in")
    assert page.status_code == 200 and '<label for="name">' in page.text and '<label for="password">' in page.text
    answer = sign_in(browser)
    assert answer.status_code == 303 and answer.headers["location"] == "/fleet/"
    cookie = next(value for value in answer.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE))
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http to loopback only: a browser would drop a Secure one
    assert browser.get("/fleet/").status_code == 200
    assert "Signed in as alex" in browser.get("/fleet/").text


def test_cookies_are_secure_when_served_beyond_loopback(fleet, fleet_clock):
    """Behind the council's HTTPS proxy the browser asked for fleet.council.example: Secure cookies only."""
    fleet.add_staff()
    host = {"Host": "fleet.council.example"}
    form = httpx.get(fleet.url + "/fleet/sign-in", headers=host)
    csrf = _csrf(form)
    assert "secure" in form.headers["set-cookie"].lower()
    answer = httpx.post(fleet.url + "/fleet/sign-in", data={"csrf_token": csrf, "name": "alex", "password": PASSWORD},
                        headers={**host, "Cookie": f"{CSRF_COOKIE}={csrf}"})
    session = [value for value in answer.headers.get_list("set-cookie") if value.startswith(SESSION_COOKIE)]
    assert answer.status_code == 303 and len(session) == 1 and "secure" in session[0].lower()


def test_a_wrong_password_shows_an_error_summary_and_no_session(browser):
    answer = sign_in(browser, password="not the password")
    assert answer.status_code == 401
    assert "There is a problem" in answer.text and 'href="#password"' in answer.text
    assert answer.text.count("The staff name or password is wrong") == 2  # in the summary and at the field
    assert "<title>Error: " in answer.text and SESSION_COOKIE not in browser.cookies
    assert browser.get("/fleet/").status_code == 303
    empty = sign_in(browser, password="", name="")
    assert empty.status_code == 400 and "Enter your staff name" in empty.text and "Enter your password" in empty.text


def test_five_wrong_passwords_lock_the_account_for_15_minutes(browser, fleet_clock):
    for _ in range(4):
        assert sign_in(browser, password="guess").status_code == 401
    locked = sign_in(browser, password="guess")
    assert locked.status_code == 429 and "locked until 11:15 UTC" in locked.text
    assert sign_in(browser).status_code == 429  # the right password too, while it lasts
    fleet_clock.advance(minutes=15, seconds=1)
    assert sign_in(browser).status_code == 303


def test_guesses_sent_all_at_once_are_each_counted_towards_the_lock_out(browser, fleet):
    """Twenty wrong passwords at the same moment: five are checked, the rest find the account
    locked. Counted only after each slow hash, they all read the same count and outran the lock."""
    from concurrent.futures import ThreadPoolExecutor

    token = _csrf(browser.get("/fleet/sign-in"))
    form = {"csrf_token": token, "name": "alex"}
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda n: browser.post("/fleet/sign-in", data={**form, "password": f"guess {n}"}),
                                range(20)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(401) <= 4 and statuses.count(429) >= 16, statuses
    assert sign_in(browser).status_code == 429  # locked: the right password waits its 15 minutes too


def test_a_flood_of_sign_ins_hashes_no_more_than_two_passwords_at_once(browser, monkeypatch):
    """argon2 takes 64 MiB a check: forty at once (the thread pool's size) would take 2.5 GiB."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from fleet import staff

    running, most, lock = 0, 0, threading.Lock()

    def counted(stored: str, password: str) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.2)
        with lock:
            running -= 1
        return False

    monkeypatch.setattr(staff, "matches", counted)
    form = {"csrf_token": _csrf(browser.get("/fleet/sign-in")), "password": "a guess"}
    with ThreadPoolExecutor(8) as pool:  # unknown names: never locked, each hashed against the decoy
        list(pool.map(lambda n: browser.post("/fleet/sign-in", data={**form, "name": f"someone {n}"}), range(8)))
    assert 1 <= most <= staff.HASHES_AT_ONCE == 2  # 128 MiB at most, whatever the server's cores


def test_a_sign_in_without_its_csrf_token_or_with_another_is_refused(browser):
    browser.get("/fleet/sign-in")
    missing = browser.post("/fleet/sign-in", data={"name": "alex", "password": PASSWORD})
    wrong = browser.post("/fleet/sign-in", data={"name": "alex", "password": PASSWORD, "csrf_token": "forged"})
    assert missing.status_code == 403 and wrong.status_code == 403
    browser.cookies.clear()  # a form posted from another site: no cookie of ours comes with it (SameSite=Strict)
    assert browser.post("/fleet/sign-in", data={"name": "alex", "password": PASSWORD,
                                                "csrf_token": "forged"}).status_code == 403
    assert SESSION_COOKIE not in browser.cookies


def test_sign_out_needs_the_sessions_csrf_token_and_ends_the_session(browser, fleet):
    sign_in(browser)
    page = browser.get("/fleet/")
    session_id = browser.cookies[SESSION_COOKIE]
    assert browser.post("/fleet/sign-out", data={}).status_code == 403
    assert browser.post("/fleet/sign-out", data={"csrf_token": "forged"}).status_code == 403
    assert browser.get("/fleet/").status_code == 200  # still signed in
    out = browser.post("/fleet/sign-out", data={"csrf_token": _csrf(page)})
    assert out.status_code == 303 and out.headers["location"] == "/fleet/sign-in"
    assert browser.get("/fleet/").status_code == 303
    with httpx.Client(base_url=fleet.url, cookies={SESSION_COOKIE: session_id}) as stolen:
        assert stolen.get("/fleet/").status_code == 303  # the old cookie is worth nothing now
    assert fleet.rows("SELECT count(*) FROM fleet_sessions") == [(0,)]


@pytest.mark.parametrize("path", ["/fleet/", "/fleet/kiosks/kiosk-1"])
def test_pages_without_a_session_or_with_a_made_up_one_redirect_to_sign_in(fleet, path):
    for cookies in ({}, {SESSION_COOKIE: "made-up"}):
        with httpx.Client(base_url=fleet.url, cookies=cookies) as client:
            answer = client.get(path)
            assert answer.status_code == 303 and answer.headers["location"] == "/fleet/sign-in"
            assert "kiosk-1" not in answer.text


@pytest.fixture
def three_kiosks(fleet, fleet_clock):
    """One silent 40 minutes in opening hours, one with a request queued 3 hours, one healthy."""
    tokens = {device: fleet.enrol(device, fleet.add_kiosk(device, library=library)) for device, library in
              [("kiosk-silent", "Central Library"), ("kiosk-stuck", "Eastgate Library"),
               ("kiosk-well", "Northfield Library")]}
    fleet.post("/fleet/heartbeat", heartbeat_body("kiosk-silent", fleet_clock()), device="kiosk-silent",
               token=tokens["kiosk-silent"])
    fleet_clock.advance(minutes=40)
    stuck = heartbeat_body("kiosk-stuck", fleet_clock(), library_name="Eastgate Library",
                           outbox={"queued": 4, "accepted": 10}, oldest_queued_seconds=3 * 3600 + 300)
    stuck["backoffices"]["default"].update(reachable=False, last_error="connection refused",
                                          last_error_at="2026-12-01T11:39:00Z")
    well = heartbeat_body("kiosk-well", fleet_clock(), library_name="Northfield Library")
    for device, body in [("kiosk-stuck", stuck), ("kiosk-well", well)]:
        assert fleet.post("/fleet/heartbeat", body, device=device, token=tokens[device]).status_code == 200
    return tokens


def _row(page: httpx.Response, device: str) -> str:
    row = next(row for row in page.text.split("<tr>") if f"/fleet/kiosks/{device}\"" in row)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_the_fleet_page_shows_every_kiosk_with_its_flags_in_words(browser, three_kiosks):
    sign_in(browser)
    page = browser.get("/fleet/")
    assert page.status_code == 200 and "2 of 3 kiosks need a look" in page.text
    silent, stuck, well = (_row(page, device) for device in ("kiosk-silent", "kiosk-stuck", "kiosk-well"))
    assert "silent for over 30 minutes in opening hours" in silent and "queued for over" not in silent
    assert "a request queued for over 120 minutes" in stuck and "silent" not in stuck
    assert "4" in stuck and "3 hours 5 minutes" in stuck and "default: unreachable" in stuck
    assert "connection refused" in stuck and "5000 MB" in stuck and "0.1.0" in stuck
    assert "No problems" in well and "default: reachable" in well
    assert "No problems" not in silent + stuck


def test_kiosks_not_in_use_or_held_up_are_never_shown_as_having_no_problems(browser, fleet, fleet_clock,
                                                                           three_kiosks):
    """What a council's team met trying the page: a revoked kiosk, one never enrolled and one whose
    back office was paused (the council refused its key) each read "No problems", in green."""
    from fleet import registry

    fleet.add_kiosk("kiosk-new", library="Westgate Library")
    fleet.enrol("kiosk-gone", fleet.add_kiosk("kiosk-gone", library="Old Library"))
    registry.revoke(fleet.store.db, "kiosk-gone", fleet_clock())
    paused = heartbeat_body("kiosk-well", fleet_clock(), library_name="Northfield Library")
    paused["backoffices"]["default"].update(paused=True, last_error="the council refused our API key",
                                            last_error_at="2026-12-01T11:38:00.123456Z")
    fleet.post("/fleet/heartbeat", paused, device="kiosk-well", token=three_kiosks["kiosk-well"])
    sign_in(browser)
    page = browser.get("/fleet/")
    new, gone, held = (_row(page, device) for device in ("kiosk-new", "kiosk-gone", "kiosk-well"))
    assert "No problems" not in new + gone + held
    assert "waiting for enrolment: its code expires 2 December 11:40" in new
    assert "Revoked: not in use" in gone
    assert "back office paused: default" in held
    # the error says when it was, times read as people write them
    assert "the council refused our API key (1 December 11:38)" in held
    assert "1 December 11:40" in held and "2026-12-01T" not in page.text


def test_a_kiosks_time_beyond_the_calendar_breaks_no_page(browser, fleet, fleet_clock, three_kiosks):
    """A kiosk's times are checked by the schema only as text: one that reads as a time but cannot
    be put in UTC (year 1, an hour ahead) is shown as sent, not a 500 for every member of staff."""
    odd = heartbeat_body("kiosk-well", fleet_clock())
    odd["backoffices"]["default"].update(last_error="timed out", last_error_at="0001-01-01T00:00:00+01:00")
    assert fleet.post("/fleet/heartbeat", odd, device="kiosk-well", token=three_kiosks["kiosk-well"]).status_code == 200
    sign_in(browser)
    for page in ("/fleet/", "/fleet/kiosks/kiosk-well"):
        answer = browser.get(page)
        assert answer.status_code == 200 and "timed out (0001-01-01T00:00:00+01:00)" in answer.text


def test_a_kiosks_page_shows_its_last_24_hours(browser, fleet, fleet_clock, three_kiosks):
    token = three_kiosks["kiosk-stuck"]
    fleet_clock.advance(hours=25)
    for minutes in (0, 5):
        body = heartbeat_body("kiosk-stuck", fleet_clock() + timedelta(minutes=minutes), outbox={"queued": minutes})
        fleet_clock.advance(minutes=minutes)
        fleet.post("/fleet/heartbeat", body, device="kiosk-stuck", token=token)
    sign_in(browser)
    page = browser.get("/fleet/kiosks/kiosk-stuck")
    assert page.status_code == 200 and "Eastgate Library: kiosk kiosk-stuck" in _text(page)
    assert "Heartbeats in the last 24 hours (2)" in page.text  # the one of 25 hours ago left out
    assert "connection refused" not in page.text
    assert browser.get("/fleet/kiosks/no-such-kiosk").status_code == 404


def test_the_pages_carry_no_residents_data_and_forbid_framing_and_caching(browser, fleet, three_kiosks):
    """What a kiosk sends holds no personal data; a heartbeat field carrying some by mistake is
    refused by the schema, so it never reaches a page (tests/fleet/test_app.py)."""
    sign_in(browser)
    for path in ("/fleet/", "/fleet/kiosks/kiosk-well"):
        page = browser.get(path)
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "<script" not in page.text
    planted = heartbeat_body("kiosk-well", fleet.store.clock(), resident="Ada Lovelace 07700 900123")
    refused = fleet.post("/fleet/heartbeat", planted, device="kiosk-well", token=three_kiosks["kiosk-well"])
    assert refused.status_code == 400
    assert "Ada Lovelace" not in browser.get("/fleet/").text


def test_a_form_too_large_is_refused(browser):
    form = browser.get("/fleet/sign-in")
    answer = browser.post("/fleet/sign-in", data={"csrf_token": _csrf(form), "name": "alex", "password": "x" * 5000})
    assert answer.status_code == 413 and CSRF_COOKIE in browser.cookies


def test_refused_sign_ins_are_logged_without_the_name_or_password_typed(browser, caplog):
    with caplog.at_level(logging.WARNING, logger="fleet"):
        for _ in range(5):
            sign_in(browser, password="hunter2-typed-wrong")
    assert caplog.text.count("sign-in refused: wrong staff name or password") == 4
    # the account is a real one: named, so that whoever unlocks it knows which
    assert "staff account alex locked until 2026-12-01T11:15" in caplog.text
    assert "hunter2" not in caplog.text and PASSWORD not in caplog.text


def test_who_signed_in_is_logged_and_never_a_password(browser, caplog):
    with caplog.at_level(logging.INFO, logger="fleet"):
        sign_in(browser)
        browser.cookies.clear()
        sign_in(browser, name="alex\nfleet: staff mallory signed in")  # a name typed to forge a line: unknown
    assert caplog.text.count("fleet: staff alex signed in") == 1 and "mallory" not in caplog.text
    assert PASSWORD not in caplog.text


def test_a_password_being_checked_holds_up_no_kiosk(browser, fleet, fleet_clock, kiosk, monkeypatch):
    """argon2 takes a tenth of a second a guess on purpose: done on the service's event loop, every
    sign-in (a guesser's too) would stall every kiosk's heartbeat for that long."""
    import threading

    from fleet import staff

    checking, answered = threading.Event(), threading.Event()
    real = staff.matches

    def slow_match(stored: str, password: str) -> bool:
        checking.set()
        answered.wait(timeout=10)  # held until a kiosk's heartbeat has been answered meanwhile
        return real(stored, password)

    monkeypatch.setattr(staff, "matches", slow_match)
    signing = threading.Thread(target=sign_in, args=(browser, "a wrong password"))
    signing.start()
    try:
        assert checking.wait(timeout=10)
        device, token = kiosk
        beat = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock()), device=device, token=token)
        assert beat.status_code == 200  # within httpx's 5 seconds, while the password is still being checked
    finally:
        answered.set()
        signing.join()
