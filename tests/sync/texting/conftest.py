"""Fixtures of the texting tests: a worker's claim on the outbound queue (Twilio's and GOV.UK Notify's
fakes, `twilio` and `notify`, are every test's fixtures: tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.texting import outbound

LEASE = timedelta(seconds=60)
GIVE_UP = timedelta(hours=48)


@pytest.fixture
def claim():
    """Claim due texts as a worker does: `claim(store, owner="w1", limit=10)`."""
    def take(store, owner="w1", limit=10):
        return outbound.claim_texts(store, owner, limit, lease=LEASE, give_up_after=GIVE_UP)

    return take

