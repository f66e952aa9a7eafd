"""The fleet service on loopback with its own store and a clock the tests move."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sync.config import load_settings
from tests.fleet.fleet_support import start_fleet
from tests.helpers import Clock
from tests.postgres import store_env


@pytest.fixture
def fleet_clock() -> Clock:
    """Tuesday 1 December 2026, 11:00 in London: the libraries are open."""
    return Clock(datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc))


@pytest.fixture
def fleet(tmp_path, fleet_clock):
    peer = start_fleet(tmp_path / "council", clock=fleet_clock)
    yield peer
    peer.stop()


@pytest.fixture
def kiosk(fleet):
    """An enrolled kiosk: (device id, token)."""
    return "kiosk-1", fleet.enrol("kiosk-1", fleet.add_kiosk("kiosk-1"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def council(request, tmp_path, run):
    """`assist ...` against the council's store on each engine, and that store's settings."""
    postgres = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    environ = store_env(request.param, tmp_path / "council", postgres)
    environ.setdefault("ASSIST_STORE__PATH", "")  # not the `run` fixture's file beside a PostgreSQL URL
    (tmp_path / "council").mkdir(exist_ok=True)

    def invoke(*args: str, input: str | None = None):
        return run(*args, extra_env=environ, input=input)

    invoke.settings = load_settings(environ=environ)
    return invoke
