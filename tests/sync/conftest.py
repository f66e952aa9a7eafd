"""Fixtures for the tests of sync/'s core modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers import serve_in_thread
from tests.sms.sms_fakes import FakeNotify


@pytest.fixture
def notify() -> Iterator[FakeNotify]:
    """GOV.UK Notify's API faked on loopback, for sms_fakes.NOTIFY_KEY; its `url` to send to."""
    fake = FakeNotify()
    running = serve_in_thread(fake.app, name="notify")
    fake.url = f"http://127.0.0.1:{running.port}"
    yield fake
    running.stop(timeout=5)
