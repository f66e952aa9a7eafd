"""Whether each back office answered last time, kept where the channels show it."""

from __future__ import annotations

import time

from sync.store import Store

#: How often, at most, a steady reachability is written to the store (seconds).
REACHABILITY_EVERY = 5.0


class Reachability:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._last: dict[str, tuple[bool, float]] = {}

    def note(self, name: str, reachable: bool, error: str | None = None) -> None:
        """Record reachability for the channels to show: at once when it changes or fails, and
        otherwise every few seconds, not on every request (each write is an fsync)."""
        last = self._last.get(name)
        now = time.monotonic()
        if error is None and last is not None and last[0] == reachable and now - last[1] < REACHABILITY_EVERY:
            return
        self.store.set_backoffice_state(name, reachable=reachable, error=error)
        self._last[name] = (reachable, now)
