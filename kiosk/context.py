"""What a page may read from the app: attributes handed down, never methods to call.

Pages reach this through `kiosk_of(node)`, typed, instead of `self.app.<name>` with a
`type: ignore`; what a page wants to happen it posts as a message (kiosk/messages.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.app import App

    from kiosk.journey import Journey
    from kiosk.speech import Speaker
    from kiosk.statuses import Connection
    from locales import Translator
    from sync.config import Settings
    from sync.places.gazetteer import Gazetteer
    from sync.store import Store


class Kiosk(Protocol):
    settings: Settings
    store: Store
    journey: Journey
    #: The store's gazetteer, searched on the address page.
    places: Gazetteer
    speaker: Speaker
    #: The languages offered, in display order.
    languages: list[str]
    #: What the status line shows, as last read from the store.
    connection: Connection | None
    #: Off in tests, for stable snapshots.
    cursor_blink: bool

    @property
    def t(self) -> Translator: ...


class InApp(Protocol):
    """A widget or screen (anything Textual has given an `app`)."""

    @property
    def app(self) -> App[Any]: ...


def kiosk_of(node: InApp) -> Kiosk:
    """The kiosk app `node` belongs to, seen through what a page may read."""
    return cast("Kiosk", node.app)
