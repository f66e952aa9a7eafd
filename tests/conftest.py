"""Shared fixtures: real SQLite files in a temporary directory, real settings, the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from assist.cli import cli
from sync.config import load_settings
from sync.store import Store
from tests.helpers import Clock
from tests.peers import CouncilClock, CouncilServer, start_council_server, stop_council_server
from tests.postgres import Postgres
from tests.sms.sms_fakes import FakeNotify, FakeTwilio
from tests.sms.sms_support import ACCOUNT_SID, AUTH_TOKEN, serve, stop


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """This test process's own PostgreSQL, started at the first test that asks for it."""
    server = Postgres()
    yield server
    server.stop()


@pytest.fixture
def postgres_url(postgres) -> str:
    """The URL of a new, empty database on the tests' PostgreSQL."""
    return postgres.new_database()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment that points every command at this test's own store and key."""
    return {"ASSIST_STORE__PATH": str(tmp_path / "store" / "assist.db"),
            "ASSIST_KIOSK__DEVICE_ID": "kiosk-test-1"}


@pytest.fixture
def settings(env):
    return load_settings(environ=env)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(settings, clock):
    opened = Store.open(settings, clock=clock, backoff_base_seconds=10, backoff_cap_seconds=600)
    yield opened
    opened.close()


@pytest.fixture
def run(env):
    """Run `assist ...` as a person would, returning click's Result."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, extra_env: dict[str, str] | None = None):
        return runner.invoke(cli, list(args), env={**env, **(extra_env or {})}, input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def council_server(tmp_path) -> Iterator[Any]:
    """Factory: `council_server(**create_app_options) -> base URL` of a running back office
    (tests/peers.py); every one started is stopped, its store closed, when the test ends."""
    running: list[CouncilServer] = []

    def start(db_path: str | Path | None = None, **options: Any) -> CouncilServer:
        path = Path(db_path) if db_path is not None else tmp_path / f"council-{len(running)}.db"
        url = start_council_server(path, **options)
        running.append(url)
        return url

    yield start
    for url in reversed(running):
        stop_council_server(url)


@pytest.fixture
def council_clock() -> CouncilClock:
    """A settable clock for `council_server(now=council_clock)`, starting 2026-11-24 10:00 UTC."""
    return CouncilClock()


@pytest.fixture
def twilio():
    """Twilio's REST API faked on loopback, for the account in sms_env; its `url` to send to."""
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)
    fake.url = serve(fake.app)
    yield fake
    stop(fake.url)


@pytest.fixture
def notify():
    """GOV.UK Notify's API faked on loopback, for NOTIFY_KEY; its `url` to send to."""
    fake = FakeNotify()
    fake.url = serve(fake.app)
    yield fake
    stop(fake.url)
