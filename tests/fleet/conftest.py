"""The fleet service on loopback with its own store and a clock the tests move."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.fleet.fleet_support import start_fleet
from tests.helpers import Clock


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
