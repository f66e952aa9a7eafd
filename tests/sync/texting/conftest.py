"""Fixtures of the texting tests: the store on both engines, a worker's claim on the outbound queue
(Twilio's and GOV.UK Notify's fakes, `twilio` and `notify`, are every test's fixtures: tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.texting import outbound
from tests.postgres import engine_env, parametrize_engines

LEASE = timedelta(seconds=60)
GIVE_UP = timedelta(hours=48)


def pytest_generate_tests(metafunc):
    """Texting runs on both engines (`engine`): the council's SMS service keeps its store on
    PostgreSQL; tests marked sqlite_only run on SQLite alone."""
    parametrize_engines(metafunc)


@pytest.fixture
def env(engine, tmp_path, request) -> dict[str, str]:
    """As tests/conftest.py's, with the store on each engine."""
    return engine_env(engine, tmp_path / "store", request)


@pytest.fixture
def claim():
    """Claim due texts as a worker does: `claim(store, owner="w1", limit=10)`."""
    def take(store, owner="w1", limit=10):
        return outbound.claim_texts(store, owner, limit, lease=LEASE, give_up_after=GIVE_UP)

    return take

