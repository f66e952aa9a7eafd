"""Before the contact questions: why contact details help, and a plain way to go on without them."""

from __future__ import annotations

from kiosk import messages
from kiosk.context import kiosk_of
from kiosk.screens.base import KioskScreen
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.text import Static


class ContactScreen(KioskScreen):
    CAN_CONTINUE = False

    def compose_body(self):
        session = kiosk_of(self).journey.session
        assert session.service is not None
        service = session.service
        yield Static(self._(service.name), classes="caption speak", markup=False)
        yield Static(self._("Can the council contact you about this? (optional)"), classes="heading speak",
                     markup=False)
        yield Static(self._("If you give your contact details, the council can tell you when it is fixed, or ask "
                            "you a question about it. You do not have to give them."),
                     classes="body-text speak", markup=False)
        yield Static(self._("With a mobile number, you can also have your reference sent to you by text "
                            "message straight away."), classes="body-text speak", markup=False)
        wanted = session.contact_wanted
        yield ChoiceList([
            Choice("yes", self._("Give my contact details")),
            Choice("no", self._("Continue without giving contact details")),
        ], "menu", id="contact-choice",
            selected=[] if wanted is None else ["yes" if wanted else "no"])

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.ContactChosen(message.key == "yes"))
