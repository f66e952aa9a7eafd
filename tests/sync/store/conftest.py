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
from tests.postgres import engine_env, parametrize_engines, store_env

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


def pytest_generate_tests(metafunc):
    """The store's tests run on both engines (`engine`), those marked sqlite_only on SQLite alone."""
    parametrize_engines(metafunc)


@pytest.fixture
def env(engine, tmp_path, request) -> dict[str, str]:
    """As tests/conftest.py's, with the store on each engine."""
    return engine_env(engine, tmp_path / "store", request)


@pytest.fixture
def kiosk(tmp_path, council_server, engine, request):
    """Make a Kiosk (`extra` settings as environment variables) beside its own back office."""
    opened: list[Store] = []

    def make(extra: dict[str, str] | None = None) -> Kiosk:
        url = council_server(api_key=API_KEY)
        postgres = request.getfixturevalue("postgres") if engine == "postgresql" else None
        settings = load_settings(environ={
            **store_env(engine, tmp_path / "kiosk", postgres), "ASSIST_BACKOFFICE__URL": url,
            "ASSIST_BACKOFFICE__API_KEY": API_KEY, "ASSIST_KIOSK__DEVICE_ID": "kiosk",
            "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "0", "ASSIST_SYNC__TIMEOUT_SECONDS": "2", **(extra or {})})
        opened.append(Store.open(settings))
        return Kiosk(url, settings, opened[-1])

    yield make
    for store in opened:
        store.close()
