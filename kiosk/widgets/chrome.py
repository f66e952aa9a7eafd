"""What frames every page: a top bar with the council's name and the residents' own controls
("Change colours", "Read aloud" where espeak-ng is installed, "Language"), a discreet "Volunteer"
for staff, a Back link, and a quiet status line saying whether the kiosk was last in touch with the
council and what waits to be sent. Every control is a button as well as a key, for touch screens."""

from __future__ import annotations

from textual.containers import Horizontal
from textual.content import Content
from textual.reactive import reactive

from kiosk.context import kiosk_of
from kiosk.i18n import Speaks, local_time
from kiosk.messages import Guarded
from kiosk.statuses import WAITING, Connection
from kiosk.widgets.choices import ChoiceList, number_keys
from kiosk.widgets.text import Button, Static


class TopBar(Speaks, Horizontal):
    def compose(self):
        kiosk = kiosk_of(self)
        settings = kiosk.settings
        # On a narrow screen the library's name gives way to the residents' controls (kiosk.tcss).
        parts = [Static(settings.council.name, classes="title", markup=False),
                 Static(f" · {settings.kiosk.library_name}", classes="title library", markup=False),
                 Button(Content(self._("Change colours")), id="colours", compact=True, action="app.toggle_colours")]
        if kiosk.speaker.available:
            parts.append(Button(Content(self._("Read aloud")), id="read-aloud", compact=True, action="app.read_aloud"))
        if getattr(self.screen, "OFFERS_LANGUAGE", True) and len(kiosk.languages) > 1:
            # In English too, whatever the language: someone lost in a language they cannot read finds it.
            # TRANSLATORS: Top-bar button that opens the list of languages.
            label = self._("Language") if self.t.code == "en" else f"{self._('Language')} · Language"
            parts.append(Button(Content(label), id="language", compact=True, action="app.change_language"))
        # TRANSLATORS: A small top-bar button for library volunteers and staff to sign in; residents need not notice it.
        parts.append(Button(Content(self._("Volunteer")), id="volunteer", compact=True, action="app.volunteer"))
        # A right-to-left page reads from the right: the name there, the controls at the far end.
        yield from reversed(parts) if self.app.has_class("-rtl") else parts


class BackLink(Speaks, Guarded, Horizontal):
    """GOV.UK's Back link (the button `#back`), at the top left of a page; in a row of its own, so
    that a right-to-left page can put it at the top right, where the reordering turns its arrow
    round (the Unicode algorithm mirrors "‹" in right-to-left text)."""

    DEFAULT_CSS = """
    BackLink { height: auto; }
    """

    def compose(self):
        yield Button(Content("‹ " + self._("Back")), compact=True, id="back", classes="back-link",
                     action="screen.back")


class StatusLine(Speaks, Static):
    """Reachability and the waiting count, as the sync worker last left them in the store."""

    connection: reactive[Connection | None] = reactive(None, init=False)

    def __init__(self) -> None:
        super().__init__("", markup=False, id="status-line")

    def on_mount(self) -> None:
        self.connection = kiosk_of(self).connection
        self.update(self.describe(self.connection))

    def watch_connection(self, connection: Connection | None) -> None:
        self.update(self.describe(connection))

    def describe(self, connection: Connection | None) -> str:
        if connection is None:
            return ""
        parts = []
        if connection.reachable and connection.checked_at:
            parts.append(self._("In touch with the council at {time}").format(
                time=local_time(self.t, connection.checked_at, "HH:mm")))
        elif connection.reachable is False:
            parts.append(self._("Not connected just now: requests are kept safe here"))
        if connection.waiting:
            parts.append(self._n(*WAITING, connection.waiting).format(count=self.t.number(connection.waiting)))
        return "  ·  ".join(parts)


class KeyHints(Speaks, Static):
    """One quiet line of the keys that work on this page ("Enter Continue  Esc Back  F2 Change
    colours"), translated, for people using a keyboard. Touch users have the same actions as buttons
    on the page, so this is text, redrawn when the page's bindings change (cheaper than a Footer,
    which rebuilds a widget per key on every change)."""

    def __init__(self) -> None:
        super().__init__("", markup=False, id="key-hints")

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        seen, parts = set(), []
        lists = screen.query(ChoiceList)
        if lists:
            parts.append((number_keys(len(lists.first().choices)), self._("Choose")))
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.show or not active.enabled or binding.action in seen:
                continue
            seen.add(binding.action)
            parts.append((binding.key_display or binding.key, binding.description))
        # Each key with its words, never split between lines: a bar too long wraps between hints.
        hints = "   ".join(f"{key}\u00a0{words}".replace(" ", "\u00a0") for key, words in parts)
        if hints != self.content:  # focus moves often; the hints seldom change
            self.update(hints)
