"""Fixtures for driving the real kiosk app: a controllable monotonic clock, a small gazetteer, a
fake espeak-ng at the subprocess boundary, and helpers that read what is on the screen."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.app import KioskApp
from kiosk.speech import Speaker
from tests.helpers import import_addresses
from tests.kiosk.kiosk_support import FakePopen, Monotonic

ADDRESSES = [
    ("100000000001", "Brackenford Central Library, Market Square, Brackenford, BF1 4AA", "BF1 4AA", 52.1201, -1.2701),
    ("100000000002", "1 Market Square, Brackenford, BF1 4AA", "BF1 4AA", 52.1202, -1.2702),
    ("100000000003", "2 Market Square, Brackenford, BF1 4AA", "BF1 4AA", 52.1203, -1.2703),
    ("100000000004", "4 Station Road, Brackenford, BF2 7QT", "BF2 7QT", 52.1304, -1.2804),
    ("100000000005", "6 Station Road, Brackenford, BF2 7QT", "BF2 7QT", 52.1305, -1.2805),
]


@pytest.fixture
def monotonic() -> Monotonic:
    return Monotonic()


@pytest.fixture
def places(store, tmp_path: Path):
    """A handful of addresses in the store's gazetteer (latitude and longitude, no grid maths)."""
    import_addresses(store.db, tmp_path, ADDRESSES)
    return ADDRESSES


@pytest.fixture
def fake_popen():
    FakePopen.calls = []
    return FakePopen


@pytest.fixture
def make_app(settings, store, monotonic):
    """A kiosk on this test's store; espeak-ng absent unless a speaker is given."""

    def make(**options) -> KioskApp:
        options.setdefault("speaker", Speaker(find=lambda name: None))
        return KioskApp(options.pop("settings", settings), store, monotonic=monotonic, cursor_blink=False, **options)

    return make
