"""Shared fixtures: real SQLite files in a temporary directory, real settings, the real CLI."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from assist.cli import cli
from sync.config import load_settings
from sync.store import Store
from tests.peers import council_clock, council_server  # noqa: F401  (fixtures for the whole suite)


class Clock:
    """A clock tests can move; every store time goes through it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


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
