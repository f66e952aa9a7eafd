"""Only the fleet service's own answer acknowledges what a kiosk sends. Something else answering
at its address (a sign-in proxy's redirect, a captive portal's page on the library's wifi, a
proxy's error page, JSON that does not account for the batch) is a passing failure, said in the
store: the events wait and are sent once the service itself answers, none lost, none twice."""

from __future__ import annotations

import pytest
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse

from sync.fleet import link
from sync.fleet.formats import EVENTS_PATH, HEARTBEAT_PATH
from tests.sync.fleet.support import kept_events, report_once, through, visit

SIGN_IN = "https://sso.council.example/oauth2/start?rd=%2Ffleet%2Fheartbeat"
PORTAL = "<html><title>Library wifi</title><body>Accept the terms to go online</body></html>"


@pytest.mark.parametrize("path, answer, says", [
    (HEARTBEAT_PATH, lambda: RedirectResponse(SIGN_IN, status_code=302),
     f"answered with a redirect (302) to {SIGN_IN}: is a sign-in proxy in front of /fleet/heartbeat?"),
    (EVENTS_PATH, lambda: RedirectResponse("/oauth2/start", status_code=307),
     "redirect (307) to /oauth2/start: is a sign-in proxy in front of /fleet/events?"),
    (HEARTBEAT_PATH, lambda: HTMLResponse(PORTAL),
     "not the fleet service's answer: /fleet/heartbeat answered 200 (text/html)"),
    (EVENTS_PATH, lambda: HTMLResponse(PORTAL),
     "not the fleet service's answer: /fleet/events answered 200 (text/html)"),
    (HEARTBEAT_PATH, lambda: JSONResponse({"status": "healthy"}),
     "/fleet/heartbeat answered 200 (JSON the service would not send)"),
    (EVENTS_PATH, lambda: JSONResponse({"stored": 0, "duplicates": 0, "unknown": 0}),
     "/fleet/events answered 200 (JSON the service would not send)"),
    (EVENTS_PATH, lambda: HTMLResponse("<h1>413 Request Entity Too Large</h1>", status_code=413),
     "/fleet/events answered 413 (text/html)"),  # a proxy's limit, not the service refusing the batch for good
], ids=["heartbeat-to-sign-in", "events-to-sign-in", "heartbeat-portal", "events-portal", "heartbeat-other-json",
        "events-unaccounted", "events-proxy-413"])
def test_an_answer_that_is_not_the_services_acknowledges_nothing(kiosk, fleet, between, path, answer, says):
    settings, store = kiosk
    settings = through(settings, between.url)
    for _ in range(3):
        visit(store)
    between.answers[path] = answer

    assert report_once(store, settings) is False
    status = link.status(store)
    assert status["events_waiting"] == 9, "events were marked sent although the service never had them"
    assert says in status["last_error"]
    assert (status["last_heartbeat_at"] is None) == (path == HEARTBEAT_PATH)
    assert kept_events(fleet) == []
    assert report_once(store, settings) is False and between.posted[path] == 2  # tried again each round

    del between.answers[path]  # the proxy let through, the portal's terms accepted
    assert report_once(store, settings)
    status = link.status(store)
    assert status["events_waiting"] == 0 and status["last_error"] is None and status["last_heartbeat_at"]
    assert len(kept_events(fleet)) == 9 and len({event_id for _, event_id, _, _ in kept_events(fleet)}) == 9
