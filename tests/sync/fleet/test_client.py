"""The kiosk's side of enrolment: https only (plain http to this machine), the token sealed."""

from __future__ import annotations

import json
import re
import ssl
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fleet import registry
from sync.fleet import link
from sync.fleet.urls import service_url
from tests.helpers import self_signed


@pytest.mark.parametrize("url", ["https://fleet.council.example/", "http://127.0.0.1:8313", "http://localhost:8313/",
                                 "http://[::1]:8313"])
def test_https_anywhere_and_plain_http_to_this_machine_are_accepted(url):
    assert service_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url, says", [
    ("http://fleet.council.example", "plain http"),
    ("http://10.0.0.5:8313", "plain http"),
    ("ftp://fleet.council.example", "not an https URL"),
    ("https://", "not an https URL"),
    ("http://127.0.0.1:99999", "not a URL"),
])
def test_other_urls_are_refused_saying_why(url, says):
    with pytest.raises(ValueError, match=says):
        service_url(url)


def test_enrol_keeps_the_token_sealed_in_the_store(run, fleet, env, tmp_path):
    code = fleet.add_kiosk("kiosk-test-1")
    refused = run("fleet", "enrol", "--url", fleet.url.replace("127.0.0.1", "fleet.council.example"), "--code", code)
    assert refused.exit_code == 1 and "plain http" in refused.output
    result = run("fleet", "enrol", "--url", fleet.url, "--code", code)
    assert result.exit_code == 0, result.output
    from sync.config import load_settings
    from sync.store import Store

    store = Store.open(load_settings(environ=env))
    try:
        enrolment = link.current(store)
        [(sealed,)] = store.db.conn.execute("SELECT token FROM fleet_link").fetchall()
        assert enrolment.token.encode() not in bytes(sealed) and enrolment.url == fleet.url
        [(token_hash,)] = fleet.rows("SELECT token_hash FROM fleet_kiosks")
        assert registry.digest(enrolment.token) == token_hash
        assert re.fullmatch(r"[0-9a-f]{32}", enrolment.store_id)
    finally:
        store.close()
    again = run("fleet", "enrol", "--url", fleet.url, "--code", code)
    assert again.exit_code == 1 and "used already" in again.output and "Traceback" not in again.output


def test_enrol_with_the_service_down_says_so(run, fleet):
    code = fleet.add_kiosk("kiosk-test-1")
    fleet.stop(keep_store=True)
    result = run("fleet", "enrol", "--url", fleet.url, "--code", code)
    assert result.exit_code == 1 and "could not be reached: nothing answers there (connection refused)" in \
        result.output


@contextmanager
def https_server(folder, certificate: bool):
    """A server on loopback speaking https with a certificate no machine trusts, or plain http
    where https was asked for (an operator's mistake with the port)."""
    class Quiet(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    if certificate:
        cert, key = self_signed(folder, "127.0.0.1")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.mark.parametrize("certificate, says", [
    (True, "its certificate is not one this kiosk trusts"),
    (False, "what answers there does not speak https"),
])
def test_enrol_says_why_a_service_could_not_be_reached(run, tmp_path, certificate, says):
    """Each of an operator's likely mistakes named, not "ConnectError" for all of them."""
    with https_server(tmp_path, certificate) as url:
        result = run("fleet", "enrol", "--url", url, "--code", "ABCD-EFGH-JKMN-PQRS-TVWX")
    assert result.exit_code == 1 and says in result.output, result.output
    unknown = run("fleet", "enrol", "--url", "https://fleet.invalid", "--code", "ABCD-EFGH-JKMN-PQRS-TVWX")
    assert unknown.exit_code == 1 and "its name, fleet.invalid, could not be found" in unknown.output


def test_status_shows_the_enrolment_and_why_the_service_was_not_reached(run, fleet, council_server):
    assert "Not enrolled" in run("fleet", "status").output
    assert run("fleet", "enrol", "--url", fleet.url, "--code", fleet.add_kiosk("kiosk-test-1")).exit_code == 0
    shown = json.loads(run("fleet", "status", "--json").output)
    assert shown["enrolled"] and shown["url"] == fleet.url and shown["last_heartbeat_at"] is None
    assert "token" not in json.dumps(shown).lower()
    office = {"ASSIST_BACKOFFICE__URL": council_server()}
    fleet.stop(keep_store=True)
    assert run("sync", "run", "--once", extra_env=office).exit_code == 0  # the round goes on without the fleet
    shown = run("fleet", "status").output
    assert "last heartbeat taken: never" in shown and "last problem: the fleet service at" in shown
    assert "clock: not measured yet" in shown
    fleet.restart()
    run("sync", "run", "--once", extra_env=office)
    shown = json.loads(run("fleet", "status", "--json").output)
    assert shown["last_heartbeat_at"] and shown["last_error"] is None and shown["events_waiting"] == 0
    assert "clock: right (within a second or two of the fleet service's)" in run("fleet", "status").output


def test_a_fleet_setting_that_cannot_work_never_stops_the_kiosk_and_its_step_says_why(run, fleet, council_server):
    """fleet.url and fleet.timezone matter to the fleet alone: wrong on a kiosk, residents' requests
    still go, and the fleet step says what is wrong (never repeating a password put in the URL)."""
    assert run("fleet", "enrol", "--url", fleet.url, "--code", fleet.add_kiosk("kiosk-test-1")).exit_code == 0
    wrong = {"ASSIST_BACKOFFICE__URL": council_server(), "ASSIST_FLEET__TIMEZONE": "Europe/Londn",
             "ASSIST_FLEET__URL": "https://kiosk:s3cret@fleet.council.example"}
    done = run("sync", "run", "--once", extra_env=wrong)
    assert done.exit_code == 0, done.output
    shown = run("fleet", "status", extra_env=wrong).output
    assert "last problem: put no user name or password in the fleet service's URL" in shown
    assert "s3cret" not in shown + done.output
    plain = run("sync", "run", "--once", extra_env={**wrong, "ASSIST_FLEET__URL": "http://10.0.0.5:8313"})
    assert plain.exit_code == 0
    assert "is plain http" in run("fleet", "status", extra_env=wrong).output
