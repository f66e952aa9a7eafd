"""The line under the top bar that tells the resident, in their language, who is helping them."""

from __future__ import annotations

from kiosk.context import kiosk_of
from kiosk.i18n import Speaks
from kiosk.widgets.text import Static


class VolunteerBanner(Speaks, Static):
    """Shown only while a volunteer is signed in: "Sam, a library volunteer, is helping you" once the
    resident has agreed, "Sam, a library volunteer, is signed in" before they are asked."""

    DEFAULT_CSS = """
    VolunteerBanner {
        height: auto;
        padding: 0 1;
        background: $panel;
        color: $kiosk-text;
        text-style: bold;
    }
    """

    def __init__(self) -> None:
        super().__init__("", markup=False, id="volunteer-banner", classes="speak")

    def on_mount(self) -> None:
        self.show_current()

    def show_current(self) -> None:
        journey = kiosk_of(self).journey
        volunteer = journey.volunteer
        self.display = volunteer is not None
        if volunteer is None:
            self.update("")
        elif journey.session.assisted_by == volunteer.name:
            self.update(self._("{name}, a library volunteer, is helping you").format(name=volunteer.name))
        else:
            self.update(self._("{name}, a library volunteer, is signed in").format(name=volunteer.name))
