"""The example reverse proxies in deploy/: nginx accepts each, and it does what the docs say of it.

In front of stand-ins for the SMS instances (docs/postgres.md): a POST that one instance drops is
answered by another, and a body too big or a method not allowed never reaches an instance. In
front of a real fleet service with single sign-on (docs/fleet.md), and a stand-in for the
council's sign-in service: a page opens only as the person the sign-in names, whatever name a
client sends itself; the kiosks' API and /metrics keep their tokens. Skipped where nginx is not
installed (as test_units.py is without systemd-analyze)."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.helpers import free_port, self_signed

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
NGINX = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None)
# `make test` installs nginx-light; under CI a missing nginx fails rather than skips.
pytestmark = pytest.mark.skipif(NGINX is None and os.environ.get("CI") != "true", reason="nginx is not installed")


class Instances:
    """Two stand-ins for SMS instances: one reads each request and drops the connection without
    answering (an instance killed mid-request), one answers every POST with TwiML."""

    def __init__(self) -> None:
        self.dropped: list[bytes] = []
        self.answered: list[bytes] = []
        self.dropper = socket.create_server(("127.0.0.1", 0))
        answered = self.answered

        class Answer(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                answered.append(self.rfile.read(int(self.headers["Content-Length"])))
                body = b"<Response/>"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._drop, daemon=True).start()

    def _drop(self) -> None:
        while True:
            try:
                connection, _ = self.dropper.accept()
            except OSError:
                return
            with connection:
                self.dropped.append(connection.recv(65536))

    @property
    def ports(self) -> list[int]:
        return [self.dropper.getsockname()[1], self.server.server_address[1]]

    def close(self) -> None:
        self.server.shutdown()
        self.dropper.close()


def tls(folder: Path, text: str, port: int) -> str:
    """An example as shipped, but for its certificate and listening on a free loopback port (https only)."""
    cert, key = self_signed(folder)
    text = re.sub(r"ssl_certificate .*;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {key};", text)
    text = re.sub(r"server \{\n    listen 80;.*?\n\}\n", "", text, flags=re.DOTALL)  # no port 80 here
    return text.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;").replace("listen [::]:443 ssl;", "")


def sms_site(folder: Path, port: int, upstreams: list[int]) -> str:
    """The SMS example, in front of `upstreams`."""
    text = tls(folder, (DEPLOY / "nginx-assist-sms.conf").read_text(encoding="utf-8"), port)
    servers = "".join(f"    server 127.0.0.1:{upstream} max_fails=1 fail_timeout=10s;\n" for upstream in upstreams)
    text, count = re.subn(r"(?:    server \S+ max_fails=1 fail_timeout=10s;\n)+", servers, text)
    assert count == 1, "the example's upstream block is no longer where this test expects it"
    return text


@contextmanager
def nginx(folder: Path, site_text: str, port: int) -> Iterator[httpx.Client]:
    """nginx in the foreground with `site_text`, and a client of it over https."""
    (folder / "site.conf").write_text(site_text, encoding="utf-8")
    temp = " ".join(f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                      "scgi"))
    (folder / "nginx.conf").write_text(
        f"daemon off; pid {folder / 'nginx.pid'}; error_log {folder / 'error.log'};\n"
        f"events {{}}\nhttp {{ access_log off; {temp} include {folder / 'site.conf'}; }}\n", encoding="utf-8")
    command = [NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(command, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=False, timeout=15) as client:
            yield client
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def proxy(tmp_path):
    """nginx with the SMS example, on a free port, in front of `Instances`."""
    instances = Instances()
    port = free_port()
    try:
        with nginx(tmp_path, sms_site(tmp_path, port, instances.ports), port) as client:
            yield client, instances
    finally:
        instances.close()


def test_a_post_one_instance_drops_is_answered_by_another(proxy):
    client, instances = proxy
    answers = [client.post("/sms/inbound", data={"MessageSid": f"SM{n:032d}", "Body": "pothole"}) for n in range(6)]
    assert [answer.status_code for answer in answers] == [200] * 6
    assert instances.dropped, "round robin sent no webhook to the instance that drops them"
    assert len(instances.answered) == 6, "each webhook answered once, the dropped one by the other instance"
    assert any(b"SM" in request for request in instances.dropped)


def test_too_big_a_body_or_a_get_never_reaches_an_instance(proxy):
    client, instances = proxy
    assert client.post("/sms/inbound", content=b"Body=" + b"a" * 40_000,
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 413
    assert client.get("/sms/inbound").status_code == 403
    assert client.post("/admin").status_code == 404
    assert not instances.dropped and not instances.answered


# -- the fleet service, behind the council's single sign-on ---------------------------------------

METRICS_TOKEN = "m" * 32
SIGN_IN_COOKIE = "council_sso"


class SignIn:
    """A stand-in for the council's sign-in service (oauth2-proxy's part): its check names whoever
    its cookie says is signed in (202, X-Auth-Request-User) or answers 401."""

    def __init__(self) -> None:
        class Check(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                cookies = dict(part.strip().partition("=")[::2] for part in self.headers.get("Cookie", "").split(";"))
                who = cookies.get(SIGN_IN_COOKIE) if self.path == "/oauth2/auth" else None
                self.send_response(202 if who else 401)
                if who:
                    self.send_header("X-Auth-Request-User", who)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Check)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def fleet_site(folder: Path, port: int, fleet_port: int, sign_in_port: int) -> str:
    """The fleet example, in front of the fleet service and the sign-in stand-in, connecting to them
    from 127.0.0.2 (the one address the service trusts, so that a client on 127.0.0.1 is not)."""
    text = tls(folder, (DEPLOY / "nginx-assist-fleet.conf").read_text(encoding="utf-8"), port)
    for shipped, here in (("server 127.0.0.1:8313;", f"server 127.0.0.1:{fleet_port};"),
                          ("server 127.0.0.1:4180;", f"server 127.0.0.1:{sign_in_port};"),
                          ("    proxy_http_version 1.1;\n",
                           "    proxy_http_version 1.1;\n    proxy_bind 127.0.0.2;\n")):
        assert text.count(shipped) == 1, f"the example's {shipped.strip()!r} is no longer where this test expects it"
        text = text.replace(shipped, here)
    return text


@pytest.fixture
def fleet_proxy(tmp_path):
    """nginx with the fleet example in front of a real fleet service with single sign-on."""
    from tests.fleet.fleet_support import start_fleet

    fleet = start_fleet(tmp_path / "council", environ={
        "ASSIST_FLEET__SSO_HEADER": "X-Remote-User", "ASSIST_FLEET__TRUSTED_PROXIES": "127.0.0.2",
        "ASSIST_FLEET__METRICS_TOKEN": METRICS_TOKEN})
    sign_in = SignIn()
    port = free_port()
    try:
        with nginx(tmp_path, fleet_site(tmp_path, port, int(fleet.url.rsplit(":", 1)[1]),
                                        sign_in.server.server_address[1]), port) as client:
            yield client, fleet
    finally:
        sign_in.close()
        fleet.stop()


def test_the_fleet_page_opens_only_as_the_person_the_councils_sign_in_names(fleet_proxy):
    client, fleet = fleet_proxy
    # Not signed in at the council: sent to its sign-in, whatever name the client gives itself.
    answer = client.get("/fleet/", headers={"X-Remote-User": "alex"})
    assert answer.status_code == 302 and answer.headers["location"].endswith("/oauth2/start?rd=/fleet/")
    assert fleet.rows("SELECT count(*) FROM fleet_sso_sessions") == [(0,)]
    # Signed in as sam: the page is sam's, though the client says it is alex.
    client.cookies.set(SIGN_IN_COOKIE, "sam")
    page = client.get("/fleet/", headers={"X-Remote-User": "alex"})
    assert page.status_code == 200 and "Signed in as sam through the council" in page.text
    assert "alex" not in page.text
    # The proxy said it was https: the session cookie is Secure.
    assert "secure" in page.headers["set-cookie"].lower()
    assert fleet.rows("SELECT staff FROM fleet_sso_sessions") == [("sam",)]
    # Straight to the service, round the proxy: the header is not believed from there.
    direct = httpx.get(fleet.url + "/fleet/", headers={"X-Remote-User": "sam"})
    assert direct.status_code == 303 and direct.headers["location"] == "/fleet/sign-in"


def test_the_kiosks_api_and_metrics_keep_their_tokens_behind_the_proxy(fleet_proxy):
    from tests.fleet.fleet_support import heartbeat_body

    client, fleet = fleet_proxy
    client.cookies.set(SIGN_IN_COOKIE, "sam")  # signed in at the council: it opens neither
    code = fleet.add_kiosk("kiosk-1")
    enrolled = client.post("/fleet/enrol", json={"device_id": "kiosk-1", "code": code})
    assert enrolled.status_code == 200
    kiosk = {"X-Assist-Device": "kiosk-1", "Authorization": f"Bearer {enrolled.json()['token']}"}
    body = heartbeat_body("kiosk-1", datetime.datetime.now(datetime.timezone.utc))
    assert client.post("/fleet/heartbeat", json=body, headers=kiosk).status_code == 200
    assert client.post("/fleet/heartbeat", json=body, headers={"X-Assist-Device": "kiosk-1",
                                                              "X-Remote-User": "sam"}).status_code == 401
    assert client.get("/fleet/heartbeat", headers=kiosk).status_code == 403
    too_big = b'{"version": 1, "events": [' + b" " * (1024 * 1024) + b"]}"
    assert client.post("/fleet/events", content=too_big, headers=kiosk).status_code == 413
    assert client.get("/metrics", headers={"X-Remote-User": "sam"}).status_code == 401
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert metrics.status_code == 200 and 'assist_fleet_kiosk_needs_attention{device_id="kiosk-1"' in metrics.text
    assert client.get("/oauth2/auth").status_code == 404  # nginx's own check, not for clients


def test_forms_posted_in_a_flood_are_turned_away_at_the_proxy_and_pages_are_not(fleet_proxy):
    """Each sign-in costs the service an argon2 hash: past a burst, one address's posts get 429
    from nginx and never reach it, while reading pages goes on."""
    client, _ = fleet_proxy
    client.cookies.set(SIGN_IN_COOKIE, "sam")
    posted = [client.post("/fleet/sign-out", data={}).status_code for _ in range(12)]
    assert posted.count(429) >= 5 and 429 not in posted[:6], posted  # the burst of 5, then turned away
    assert all(client.get("/fleet/").status_code == 200 for _ in range(12))
