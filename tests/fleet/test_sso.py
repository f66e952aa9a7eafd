"""Single sign-on over loopback HTTP: the council's proxy (here a client connecting from 127.0.0.2,
one of `fleet.trusted_proxies`) names the member of staff in `X-Remote-User`; the same header from
any other address (127.0.0.1 here) is ignored. The service itself listens on 127.0.0.1."""

from __future__ import annotations

import html
import logging

import httpx
import pytest

from fleet.pages import SESSION_COOKIE
from tests.fleet.fleet_support import csrf, heartbeat_body, start_fleet

PROXY, ELSEWHERE = "127.0.0.2", "127.0.0.1"
SSO = {"ASSIST_FLEET__SSO_HEADER": "X-Remote-User", "ASSIST_FLEET__TRUSTED_PROXIES": PROXY}


@pytest.fixture
def sso_fleet(tmp_path, fleet_clock):
    peer = start_fleet(tmp_path / "council", clock=fleet_clock, environ=SSO)
    yield peer
    peer.stop()


def from_address(peer, address: str, name: str | bytes | None = None, **headers: str) -> httpx.Client:
    """A client connecting from `address` (keeping cookies, following no redirects), sending
    `X-Remote-User: name` with every request when a name is given."""
    sent: dict[str, str | bytes] = dict(headers)
    if name is not None:
        sent["X-Remote-User"] = name
    return httpx.Client(base_url=peer.url, transport=httpx.HTTPTransport(local_address=address), headers=sent)


def signed_out(answer: httpx.Response) -> bool:
    return answer.status_code == 303 and answer.headers["location"] == "/fleet/sign-in"


def test_the_trusted_proxys_header_opens_every_page_as_that_person_with_no_account_here(sso_fleet, caplog):
    sso_fleet.add_kiosk("kiosk-1")
    # The proxy says whom it forwards for: the header is trusted for the connection's address, not that one.
    with caplog.at_level(logging.INFO, logger="fleet"), \
            from_address(sso_fleet, PROXY, "Siân Jones".encode(), **{"X-Forwarded-For": "192.0.2.7"}) as proxy:
        page = proxy.get("/fleet/")
        assert page.status_code == 200
        assert "Signed in as Siân Jones through the council's sign-in" in html.unescape(page.text)
        assert proxy.get("/fleet/kiosks/kiosk-1").status_code == 200
        assert proxy.get("/fleet/sign-in").headers["location"] == "/fleet/"
    assert sso_fleet.rows("SELECT count(*) FROM fleet_staff") == [(0,)]
    assert sso_fleet.rows("SELECT staff FROM fleet_sso_sessions") == [("Siân Jones",)]  # one, not one a page
    assert caplog.text.count("fleet: staff Siân Jones signed in through the council's sign-in") == 1


def test_the_same_header_from_any_other_address_is_ignored_and_logged(sso_fleet, caplog):
    with caplog.at_level(logging.WARNING, logger="fleet"), from_address(sso_fleet, ELSEWHERE, "alex") as client:
        assert signed_out(client.get("/fleet/"))
        # Claiming to be forwarded by the proxy changes nothing: the connection is what counts.
        assert signed_out(client.get("/fleet/", headers={"X-Forwarded-For": PROXY}))
        assert client.get("/fleet/sign-in").status_code == 200  # the service's own sign-in applies
    warnings = [record.getMessage() for record in caplog.records if "single sign-on" in record.getMessage()]
    assert warnings == ["fleet: ignored the single sign-on header X-Remote-User from 127.0.0.1, not one of "
                        "fleet.trusted_proxies"] * 3
    assert "alex" not in caplog.text


def test_single_sign_on_is_off_unless_its_header_is_set(tmp_path, fleet_clock):
    peer = start_fleet(tmp_path / "council", clock=fleet_clock, environ={"ASSIST_FLEET__TRUSTED_PROXIES": PROXY})
    try:
        with from_address(peer, PROXY, "alex", **{"X-Remote-User-Name": "alex"}) as proxy:
            assert signed_out(proxy.get("/fleet/"))
    finally:
        peer.stop()


def test_a_network_is_trusted_as_a_whole_and_no_further(tmp_path, fleet_clock):
    environ = {**SSO, "ASSIST_FLEET__TRUSTED_PROXIES": "127.0.0.0/30"}
    peer = start_fleet(tmp_path / "council", clock=fleet_clock, environ=environ)
    try:
        for address, opens in (("127.0.0.2", True), ("127.0.0.3", True), ("127.0.0.4", False), ("127.0.0.9", False)):
            with from_address(peer, address, "alex") as client:
                assert (client.get("/fleet/").status_code == 200) is opens, address
    finally:
        peer.stop()


def test_the_header_opens_neither_metrics_nor_the_kiosks_api(tmp_path, fleet_clock):
    peer = start_fleet(tmp_path / "council", clock=fleet_clock,
                       environ={**SSO, "ASSIST_FLEET__METRICS_TOKEN": "m" * 32})
    try:
        peer.add_kiosk("kiosk-1")
        with from_address(peer, PROXY, "alex") as proxy:
            assert proxy.get("/fleet/").status_code == 200  # the header is trusted here...
            assert proxy.get("/metrics").status_code == 401  # ...and opens nothing else
            answer = proxy.post("/fleet/heartbeat", json=heartbeat_body("kiosk-1", fleet_clock()),
                                headers={"X-Assist-Device": "kiosk-1"})
            assert answer.status_code == 401
            assert proxy.post("/fleet/events", json={"version": 1, "events": []},
                              headers={"X-Assist-Device": "kiosk-1"}).status_code == 401
        assert peer.rows("SELECT count(*) FROM fleet_heartbeats") == [(0,)]
    finally:
        peer.stop()


def test_forms_need_their_csrf_token_under_single_sign_on_even_after_a_restart(sso_fleet):
    with from_address(sso_fleet, PROXY, "alex") as proxy:
        token = csrf(proxy.get("/fleet/"))
        assert proxy.post("/fleet/sign-out", data={}).status_code == 403
        assert proxy.post("/fleet/sign-out", data={"csrf_token": "forged"}).status_code == 403
        sso_fleet.stop(keep_store=True)  # the token is the store's, not the process's
        sso_fleet.restart()
        answer = proxy.post("/fleet/sign-out", data={"csrf_token": token})
        assert answer.status_code == 200 and "sign out of the council's sign-in" in html.unescape(answer.text)
        assert sso_fleet.rows("SELECT count(*) FROM fleet_sso_sessions") == [(0,)]
        assert "Signed in as alex" in proxy.get("/fleet/").text  # while the council's sign-in still says so


def test_a_session_is_honoured_only_for_the_person_the_proxy_names(sso_fleet):
    with from_address(sso_fleet, PROXY, "alex") as proxy:
        alexs = csrf(proxy.get("/fleet/"))
        cookie = proxy.cookies[SESSION_COOKIE]
        proxy.headers["X-Remote-User"] = "sam"  # another person in the same browser
        page = proxy.get("/fleet/")
        assert "Signed in as sam" in page.text and csrf(page) != alexs
        assert proxy.post("/fleet/sign-out", data={"csrf_token": alexs}).status_code == 403
    # Without the proxy's word, the cookie single sign-on was given opens nothing.
    for address, name in ((PROXY, None), (ELSEWHERE, "alex"), (ELSEWHERE, None)):
        with from_address(sso_fleet, address, name) as client:
            client.cookies.set(SESSION_COOKIE, cookie)
            assert signed_out(client.get("/fleet/")), (address, name)


@pytest.mark.parametrize("value, reason", [
    (b"", "the name is empty"),
    ("\u00a0".encode(), "the name is empty"),  # a no-break space
    (b"a" * 65, "the name is longer than 64 characters"),
    (b"alex\tjones", "the name holds control characters"),
    (b"\xff\xfe", "the name is not UTF-8 text"),
])
def test_a_header_that_names_no_one_is_refused_kindly(sso_fleet, caplog, value, reason):
    with caplog.at_level(logging.WARNING, logger="fleet"), from_address(sso_fleet, PROXY, value) as proxy:
        for path in ("/fleet/", "/fleet/sign-in"):
            answer = proxy.get(path)
            assert answer.status_code == 400 and "You cannot be signed in" in answer.text
            assert reason in answer.text and "Traceback" not in answer.text
    assert f"fleet: refused the single sign-on header from {PROXY}: {reason}" in caplog.text
    assert sso_fleet.rows("SELECT count(*) FROM fleet_sso_sessions") == [(0,)]


def test_the_header_sent_twice_is_refused(sso_fleet):
    with from_address(sso_fleet, PROXY) as proxy:
        answer = proxy.get("/fleet/", headers=[("X-Remote-User", "alex"), ("X-Remote-User", "sam")])
    assert answer.status_code == 400 and "the name was sent more than once" in answer.text


def test_forwarded_https_is_believed_from_the_proxy_only(sso_fleet):
    """Behind the proxy's TLS the session cookie is Secure; a client elsewhere cannot claim https."""
    with from_address(sso_fleet, PROXY, "alex", **{"X-Forwarded-Proto": "https"}) as proxy:
        assert "secure" in proxy.get("/fleet/").headers["set-cookie"].lower()
    with from_address(sso_fleet, ELSEWHERE, **{"X-Forwarded-Proto": "https"}) as client:
        assert "secure" not in client.get("/fleet/sign-in").headers["set-cookie"].lower()


@pytest.mark.parametrize("environ, named", [
    ({"ASSIST_FLEET__TRUSTED_PROXIES": "proxy.council.example"},
     "fleet.trusted_proxies: expected IP addresses or networks, such as 10.0.2.5 or 10.0.2.0/28 "),
    ({"ASSIST_FLEET__TRUSTED_PROXIES": "10.0.2.5/28"}, "no host bits set: 10.0.2.0/28, not 10.0.2.5/28) "
                                                       "(got '10.0.2.5/28')"),
    ({"ASSIST_FLEET__SSO_HEADER": "X-Remote-User"}, "fleet.sso_header: expected fleet.trusted_proxies set too"),
    ({**SSO, "ASSIST_FLEET__SSO_HEADER": "X Remote User"}, "fleet.sso_header: expected an HTTP header's name"),
    ({"ASSIST_FLEET__TIMEZONE": "Europe/Londn"}, "fleet.timezone: expected a time zone's IANA name, such as "
                                                 "Europe/London (got 'Europe/Londn')"),
])
def test_a_setting_that_cannot_be_used_stops_the_service_at_start_with_one_line(run, environ, named):
    result = run("fleet", "serve", "--port", "0", extra_env=environ)
    assert result.exit_code == 3  # a configuration error (README, "Exit codes")
    assert named in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output
