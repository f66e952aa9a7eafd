"""Fixtures for the tests of sync/'s core modules."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from sync.answers import Question
from sync.catalogue import bundled
from sync.flow import questions


@pytest.fixture
def question() -> Callable[..., Question]:
    """A bundled service's question by its key, as the flow asks it after `answers`."""
    def find(code: str, key: str, answers: Mapping[str, Any] | None = None) -> Question:
        return next(q for q in questions(bundled().get(code), answers or {}) if q.key == key)
    return find
