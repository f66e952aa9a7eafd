"""Inactivity (WCAG 2.2.1), as a plain clock the app asks once a second what is due.

After `timeout_seconds` without input a warning counts down `warning_seconds`; "I need more time"
gives the full time again, as often as asked; at zero the visit is wiped. The error page goes back
to the start by itself after `ERROR_RETURN_SECONDS`. The monotonic clock is passed in, so tests
move it by hand instead of sleeping.
"""

from __future__ import annotations

import enum
import math
from typing import Callable

#: Seconds the error page stays before the kiosk starts again by itself.
ERROR_RETURN_SECONDS = 8


class Due(enum.Enum):
    WARN = "warn"  # show "Are you still there?"
    COUNTDOWN = "countdown"  # the warning is up: show `remaining` seconds
    TIMED_OUT = "timed out"  # nobody answered the warning: wipe the visit
    ERROR_OVER = "error over"  # the error page has been read: start again


class Inactivity:
    def __init__(self, monotonic: Callable[[], float], timeout_seconds: float, warning_seconds: float) -> None:
        self.monotonic = monotonic
        self.timeout_seconds = timeout_seconds
        self.warning_seconds = warning_seconds
        self.last_input = monotonic()
        self.warned_at: float | None = None
        self.error_at: float | None = None
        #: Whole seconds left on the warning, as of the last COUNTDOWN.
        self.remaining = math.ceil(warning_seconds)

    def touched(self) -> None:
        """Any key, click or tap."""
        self.last_input = self.monotonic()

    def more_time(self) -> None:
        """"I need more time", or a new visit: no warning, and the full time from now."""
        self.warned_at = None
        self.touched()

    def error_shown(self) -> None:
        self.error_at = self.monotonic()

    def due(self, active: bool) -> Due | None:
        """What is due now (each of WARN, TIMED_OUT and ERROR_OVER once); `active` says whether
        there is anything to protect (the first page never times out)."""
        now = self.monotonic()
        if self.error_at is not None:
            if now - self.error_at < ERROR_RETURN_SECONDS:
                return None
            self.error_at = None
            return Due.ERROR_OVER
        if self.warned_at is not None:
            left = self.warning_seconds - (now - self.warned_at)
            if left <= 0:
                self.warned_at = None
                return Due.TIMED_OUT
            self.remaining = math.ceil(left)
            return Due.COUNTDOWN
        if active and now - self.last_input >= self.timeout_seconds:
            self.warned_at = now
            self.remaining = math.ceil(self.warning_seconds)
            return Due.WARN
        return None
