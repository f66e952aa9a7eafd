"""Fixtures of the texting tests: Twilio's and GOV.UK Notify's APIs faked on loopback (the fakes
and the loopback server are the SMS tests' own, tests/sms)."""

from __future__ import annotations

import pytest

from tests.sms.sms_fakes import FakeNotify, FakeTwilio
from tests.sms.sms_support import ACCOUNT_SID, AUTH_TOKEN, serve, stop


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
