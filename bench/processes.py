"""Servers the benches run in subprocesses (the reference back office, the SMS webhook): started
the same way, with the project on the path and their output in a log, and stopped the same way."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `command` from the project's folder, its output (both streams) going to `log`."""
    with log.open("w") as handle:
        return subprocess.Popen(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                                stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, as systemd would, and a kill if it has not stopped within 15 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
