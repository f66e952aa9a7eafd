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
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_answers_kiosks_and_stops_cleanly_on_sigterm(tmp_path, run):
    council = {"ASSIST_STORE__PATH": str(tmp_path / "council" / "assist.db")}
    added = run("fleet", "add-kiosk", "kiosk-test-1", "--library", "Central Library", "--hours",
                "Mon-Sat 09:00-17:00", extra_env=council)
    code = re.search(r"\b[A-Z2-9]{4}(?:-[A-Z2-9]{4}){4}\b", added.output).group(0)
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "assist", "fleet", "serve", "--port", str(port)], cwd=ROOT,
                               text=True, env={**os.environ, **council, "PYTHONPATH": str(ROOT)},
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
        enrolled = run("fleet", "enrol", "--url", f"http://127.0.0.1:{port}/", "--code", code)
        assert enrolled.exit_code == 0 and "Enrolled as kiosk-test-1" in enrolled.output
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    listed = run("fleet", "list", extra_env=council).output
    assert "kiosk-test-1  Central Library  [enrolled]" in listed
