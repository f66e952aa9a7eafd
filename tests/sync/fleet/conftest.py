"""A kiosk with a back office and the council's fleet service, both real, on loopback."""

from __future__ import annotations

import asyncio

import pytest

from sync.fleet.enrolment import enrol
from tests.fleet.fleet_support import start_fleet
from tests.helpers import API_KEY, open_kiosk
from tests.sync.fleet.support import Between


@pytest.fixture
def fleet(tmp_path):
    peer = start_fleet(tmp_path / "council")
    yield peer
    peer.stop()


@pytest.fixture
def kiosk(tmp_path, council_server, fleet):
    """An enrolled kiosk: (settings, store), device id "kiosk-1", sending to a real back office."""
    settings, store = open_kiosk(tmp_path, council_server(api_key=API_KEY), name="kiosk-1")
    asyncio.run(enrol(store, fleet.url, "kiosk-1", fleet.add_kiosk("kiosk-1")))
    yield settings, store
    store.close()


@pytest.fixture
def between(fleet):
    """A peer on loopback between the kiosk and the fleet service (tests/sync/fleet/support.py)."""
    peer = Between(fleet.url)
    yield peer
    peer.stop()
