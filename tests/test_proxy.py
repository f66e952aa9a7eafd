"""The example reverse proxy in deploy/: nginx accepts it, and it does what docs/postgres.md says
of it, in front of stand-ins for the SMS instances: a POST that one instance drops is answered by
another, and a body too big or a method not allowed never reaches an instance. Skipped where
nginx is not installed (as test_units.py is without systemd-analyze)."""

from __future__ import annotations

import datetime
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

CONF = Path(__file__).resolve().parents[1] / "deploy" / "nginx-assist-sms.conf"
NGINX = shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if Path(path).exists()), None)
# `make test` installs nginx-light; under CI a missing nginx fails rather than skips.
pytestmark = pytest.mark.skipif(NGINX is None and os.environ.get("CI") != "true", reason="nginx is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sms.council.example")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


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


def site(folder: Path, port: int, upstreams: list[int]) -> str:
    """The example as shipped, but for its certificate, port and upstream addresses."""
    cert, key = self_signed(folder)
    text = CONF.read_text(encoding="utf-8")
    text = re.sub(r"ssl_certificate .*;", f"ssl_certificate {cert};", text)
    text = re.sub(r"ssl_certificate_key .*;", f"ssl_certificate_key {key};", text)
    text = text.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;").replace("listen [::]:443 ssl;", "")
    servers = "".join(f"    server 127.0.0.1:{upstream} max_fails=1 fail_timeout=10s;\n" for upstream in upstreams)
    text, count = re.subn(r"(?:    server \S+ max_fails=1 fail_timeout=10s;\n)+", servers, text)
    assert count == 1, "the example's upstream block is no longer where this test expects it"
    return text


@pytest.fixture
def proxy(tmp_path):
    """nginx in the foreground with the example, on a free port, in front of `Instances`."""
    instances = Instances()
    port = free_port()
    (tmp_path / "site.conf").write_text(site(tmp_path, port, instances.ports), encoding="utf-8")
    temp = " ".join(f"{kind}_temp_path {tmp_path / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                        "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'};\n"
        f"events {{}}\nhttp {{ access_log off; {temp} include {tmp_path / 'site.conf'}; }}\n", encoding="utf-8")
    command = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
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
            yield client, instances
    finally:
        server.terminate()
        server.wait(timeout=10)
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
