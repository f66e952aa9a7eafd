"""Are you still there? The inactivity warning (WCAG 2.2.1): it counts down, "I need more time"
gives the full time again (as often as wanted), and at zero the session is wiped."""

from __future__ import annotations

from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.screen import ModalScreen

from kiosk import messages
from kiosk.i18n import Speaks
from kiosk.screens.base import translated_bindings
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.text import Static
from locales import NP_

COUNTDOWN = NP_("To keep your answers private, the kiosk will clear them in {seconds} second.",
                "To keep your answers private, the kiosk will clear them in {seconds} seconds.")


class TimeoutScreen(Speaks, ModalScreen):
    BINDINGS = [
        Binding("escape", "more_time", show=False, id="timeout.more-time"),
        *(Binding(str(number), f"pick({number})", show=False, id=f"timeout.pick-{number}") for number in (1, 2)),
    ]

    remaining: reactive[int] = reactive(0, init=False)

    def __init__(self, seconds: int) -> None:
        super().__init__(id="timeout")
        self.set_reactive(TimeoutScreen.remaining, seconds)

    def compose(self):
        with Vertical(id="timeout-box"):
            yield Static(self._("Are you still there?"), classes="heading speak", markup=False)
            yield Static(self._countdown(), id="countdown", classes="body-text speak", markup=False)
            yield ChoiceList([Choice("more", self._("I need more time")),
                              Choice("clear", self._("Clear my answers now"))], "menu", id="timeout-choices")

    def _countdown(self) -> str:
        return self._n(*COUNTDOWN, self.remaining).format(seconds=self.t.number(self.remaining))

    def on_mount(self) -> None:
        self.query_one(ChoiceList).focus_first()

    def watch_remaining(self) -> None:
        self.query_one("#countdown", Static).update(self._countdown())

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return translated_bindings(self, super().active_bindings)

    def action_more_time(self) -> None:
        self.post_message(messages.MoreTime())

    def action_pick(self, number: int) -> None:
        self.query_one(ChoiceList).pick_number(number)

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.MoreTime() if message.key == "more" else messages.StartAgain())

    def spoken_text(self) -> str:
        return "\n".join([self._("Are you still there?"), self._countdown(), self.query_one(ChoiceList).spoken()])
