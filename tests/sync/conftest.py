"""Fixtures for the tests of sync/'s core modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from sync.answers import Question
from sync.catalogue import bundled
from sync.flow import questions
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


@pytest.fixture
def question() -> Callable[..., Question]:
    """A bundled service's question by its key, as the flow asks it after `answers`."""
    def find(code: str, key: str, answers: Mapping[str, Any] | None = None) -> Question:
        return next(q for q in questions(bundled().get(code), answers or {}) if q.key == key)
    return find
