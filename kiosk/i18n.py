"""Speaking the resident's language on screen.

Every resident-facing string is an English message id, marked where it is written (`N_`, or
`self._("...")` inside widgets, which pybabel extracts) and translated at render time through the
resident's `Translator`, which the app holds. Nothing is translated at import: the language can
change between one resident and the next.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from kiosk.context import kiosk_of
from locales import Translator

if TYPE_CHECKING:
    from textual.app import App

#: Kiosks stand in UK libraries: times are shown as the library's clocks show them.
LOCAL_TIME = ZoneInfo("Europe/London")


class Speaks:
    """For widgets and screens: `self._(message)` and `self._n(singular, plural, n)` translate
    through the app's current translator."""

    if TYPE_CHECKING:  # Textual's, on the widget or screen this is mixed into
        app: App[Any]

    @property
    def t(self) -> Translator:
        return kiosk_of(self).t

    def _(self, message: str) -> str:
        return self.t.gettext(message)

    def _n(self, singular: str, plural: str, n: int) -> str:
        return self.t.ngettext(singular, plural, n)


def local_time(t: Translator, moment: datetime, format: str = "medium") -> str:
    """A stored UTC time as the library's wall clock shows it, in the resident's language."""
    return t.datetime(moment.astimezone(LOCAL_TIME), format=format)


def when(t: Translator, moment: datetime) -> str:
    """A moment as every page shows one ("6 Dec 2026 13:30"): the day in words, so that nobody
    reads 06/12 as June, and the time without seconds."""
    local = moment.astimezone(LOCAL_TIME)
    return f"{t.date(local.date(), 'medium')} {t.datetime(local, 'HH:mm')}"
