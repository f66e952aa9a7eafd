"""Fixtures for the store's tests: a kiosk whose store sends to the reference back office (the fake
Twilio for the texts a store queues is every test's `twilio` fixture: tests/conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from sync.config import Settings, load_settings
from sync.store import Store
from tests.helpers import worker_drain

API_KEY = "council-key-1"


@dataclass
class Kiosk:
    """A kiosk's store and settings, sending to the reference back office at `url`."""

    url: str
    settings: Settings
    store: Store

    def drain(self) -> Any:
        """One drain of the sync worker; its DrainReport."""
        return worker_drain(self.store, self.settings)

    def council_requests(self) -> list[dict[str, Any]]:
        """Every request the back office holds."""
        found: list[dict[str, Any]] = httpx.get(f"{self.url}requests.json", params={"page_size": 1000}).json()
        return found


@pytest.fixture
def kiosk(tmp_path, council_server):
    """Make a Kiosk (`extra` settings as environment variables) beside its own back office."""
    opened: list[Store] = []

    def make(extra: dict[str, str] | None = None) -> Kiosk:
        url = council_server(api_key=API_KEY)
        settings = load_settings(environ={
            "ASSIST_STORE__PATH": str(tmp_path / "kiosk" / "assist.db"), "ASSIST_BACKOFFICE__URL": url,
            "ASSIST_BACKOFFICE__API_KEY": API_KEY, "ASSIST_KIOSK__DEVICE_ID": "kiosk",
            "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "0", "ASSIST_SYNC__TIMEOUT_SECONDS": "2", **(extra or {})})
        opened.append(Store.open(settings))
        return Kiosk(url, settings, opened[-1])

    yield make
    for store in opened:
        store.close()
