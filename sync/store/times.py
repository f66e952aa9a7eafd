"""The store's one time format: every stored time is UTC text that SQL can compare as it is."""

from __future__ import annotations

from datetime import datetime, timezone

_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def utcnow() -> datetime:
    """The store's default clock (tests and benches pass their own)."""
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """One fixed format for every stored time, so that SQL can compare them as text."""
    return moment.astimezone(timezone.utc).strftime(_FORMAT)


def parse_iso(text: str) -> datetime:
    """A stored time (written by `iso`) as an aware UTC datetime."""
    return datetime.strptime(text, _FORMAT).replace(tzinfo=timezone.utc)
