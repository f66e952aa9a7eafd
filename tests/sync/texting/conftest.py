"""Fixtures of the texting tests: a worker's claim on the outbound queue, and Twilio's and GOV.UK
Notify's APIs faked on loopback (the fakes and the loopback server are the SMS tests' own, tests/sms)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sync.texting import outbound
from tests.sms.sms_fakes import FakeNotify, FakeTwilio
from tests.sms.sms_support import ACCOUNT_SID, AUTH_TOKEN, serve, stop

LEASE = timedelta(seconds=60)
GIVE_UP = timedelta(hours=48)


@pytest.fixture
def claim():
    """Claim due texts as a worker does: `claim(store, owner="w1", limit=10)`."""
    def take(store, owner="w1", limit=10):
        return outbound.claim_texts(store, owner, limit, lease=LEASE, give_up_after=GIVE_UP)

    return take


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
