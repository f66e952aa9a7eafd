"""`assist fleet serve` as the operating system runs it, and a kiosk enrolling against it with
`assist fleet enrol`: two processes, one store each, over loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serving(environ: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`assist fleet serve` in a process of its own, once it answers; stopped with SIGTERM, which
    it must take cleanly (exit code 0)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "assist", "fleet", "serve", "--port", str(port)], cwd=ROOT,
                               text=True, env={**os.environ, **environ, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/metrics")
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the fleet service did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


@pytest.mark.slow
def test_serve_answers_kiosks_and_stops_cleanly_on_sigterm(tmp_path, run):
    council = {"ASSIST_STORE__PATH": str(tmp_path / "council" / "assist.db")}
    added = run("fleet", "add-kiosk", "kiosk-test-1", "--library", "Central Library", "--hours",
                "Mon-Sat 09:00-17:00", extra_env=council)
    code = re.search(r"\b[A-Z2-9]{4}(?:-[A-Z2-9]{4}){4}\b", added.output).group(0)
    with serving(council) as (url, _process):
        enrolled = run("fleet", "enrol", "--url", f"{url}/", "--code", code)
        assert enrolled.exit_code == 0 and "Enrolled as kiosk-test-1" in enrolled.output
    listed = run("fleet", "list", extra_env=council).output
    assert "kiosk-test-1  Central Library  [enrolled]" in listed


@pytest.mark.slow
def test_serve_believes_forwarded_headers_from_its_trusted_proxies_alone(tmp_path):
    """uvicorn on its own believes X-Forwarded-For from loopback: a client there could claim to be
    the council's proxy and name anyone. The service believes the connection's address alone."""
    council = {"ASSIST_STORE__PATH": str(tmp_path / "council" / "assist.db"),
               "ASSIST_FLEET__SSO_HEADER": "X-Remote-User", "ASSIST_FLEET__TRUSTED_PROXIES": "127.0.0.2"}
    with serving(council) as (url, process):
        forged = httpx.get(f"{url}/fleet/", headers={"X-Forwarded-For": "127.0.0.2", "X-Remote-User": "alex"})
        assert forged.status_code == 303 and forged.headers["location"] == "/fleet/sign-in"
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as proxy:
            page = proxy.get(f"{url}/fleet/", headers={"X-Remote-User": "alex", "X-Forwarded-For": "192.0.2.7"})
        assert page.status_code == 200 and "Signed in as alex" in page.text
    log = process.stderr.read()
    assert "single sign-on (X-Remote-User) from 127.0.0.2 only" in log
    # The access log names whom the proxy said it serves.
    assert '192.0.2.7:0 - "GET /fleet/ HTTP/1.1" 200' in process.stdout.read()


@pytest.fixture
def fleet(tmp_path):
    from tests.fleet.fleet_support import start_fleet

    peer = start_fleet(tmp_path / "council")
    yield peer
    peer.stop()


def test_enrol_says_which_device_id_it_used_and_how_often_the_worker_reports(run, fleet):
    code = fleet.add_kiosk("central-1")
    refused = run("fleet", "enrol", "--url", fleet.url, "--code", code)  # this kiosk is kiosk-test-1
    assert refused.exit_code == 1 and "no such enrolment code" in refused.output
    assert "This kiosk enrolled as 'kiosk-test-1' (from kiosk.device_id)" in refused.output
    by_host = run("fleet", "enrol", "--url", fleet.url, "--code", code, extra_env={"ASSIST_KIOSK__DEVICE_ID": ""})
    assert by_host.exit_code == 1
    assert f"enrolled as {socket.gethostname()!r} (from the host name, as kiosk.device_id is not set)" in by_host.output
    enrolled = run("fleet", "enrol", "--url", fleet.url, "--code", code,
                   extra_env={"ASSIST_KIOSK__DEVICE_ID": "central-1", "ASSIST_FLEET__HEARTBEAT_SECONDS": "120"})
    assert enrolled.exit_code == 0, enrolled.output
    assert "Enrolled as central-1 (from kiosk.device_id)" in enrolled.output
    assert "every fleet.heartbeat_seconds (120 in this command's settings)" in enrolled.output


@pytest.mark.parametrize("url", ["https://alex:s3cret-pw@fleet.council.example", "http://alex@127.0.0.1:8313"])
def test_enrol_refuses_a_url_with_a_user_name_or_password_and_never_echoes_it(run, url):
    refused = run("fleet", "enrol", "--url", url, "--code", "ABCD-EFGH-JKMN-PQRS-TVWX")
    assert refused.exit_code == 1 and "put no user name or password in the fleet service's URL" in refused.output
    assert "s3cret" not in refused.output and "alex" not in refused.output
    assert "Not enrolled" in run("fleet", "status").output
