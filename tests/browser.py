"""What the tests in a real browser share: Debian's chromium (never a browser Playwright downloads)
with the flags it needs here, axe-core from the npm registry, and a server started as a real
process on a loopback port.

A browser or axe-core missing skips its tests on a developer's machine, and fails them in CI
(CI=true), where `make test` installs both: a skip there would pass a check that never ran."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NoReturn

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
#: As root in a container, without a GPU, a profile of its own, and nothing fetched from outside.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: axe-core as `npm ci` installs it at the repository's root (package-lock.json pins its version).
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
#: Seconds a server may take to answer its first request, on a shared machine.
PATIENCE = 30


def missing(what: str, how: str) -> NoReturn:
    """A skip, or in CI (CI=true) a failure: `make test` installs what is missing."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing: `make test` installs it ({how})")
    pytest.skip(f"{what} is missing ({how})")


def need_chromium() -> str:
    """Debian's chromium."""
    if Path(CHROMIUM).exists() and shutil.which(CHROMIUM):
        return CHROMIUM
    missing(CHROMIUM, "apt-get install chromium")


def need_axe() -> str:
    """axe-core's script, to inject into a page."""
    if AXE.is_file():
        return AXE.read_text(encoding="utf-8")
    missing(str(AXE), "npm ci --no-audit --no-fund, at the repository's root")


def start(args: list[str], env: dict[str, str], log: Path, url: str) -> subprocess.Popen[bytes]:
    """`assist ARGS` as a process (its output in `log`), once `url` answers."""
    with log.open("wb") as output:
        process = subprocess.Popen([sys.executable, "-m", "assist", *args], env={**os.environ, **env},
                                   stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"assist {args[0]} {args[1]} stopped: {log.read_text()}")
        try:
            httpx.get(url, timeout=2)
            return process
        except httpx.TransportError:
            time.sleep(0.1)
    stop(process)
    raise AssertionError(f"assist {args[0]} {args[1]} did not answer: {log.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask the server to stop (SIGTERM), as systemd does; kill it if it has not within 20 seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
