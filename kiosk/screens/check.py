"""Check your answers: every answer, each with a Change action that comes back here, and a button
that names what it does ("Send report"). Saving can fail only in ways the resident is told about
kindly (a full disk, a busy store); nothing typed is lost when it does."""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.content import Content

from kiosk import messages, wording
from kiosk.bidi import isolate, kept_in_order
from kiosk.context import kiosk_of
from kiosk.screens.base import KioskScreen, actions
from kiosk.screens.question import typed_form
from kiosk.session import CONTACT
from kiosk.widgets.fields import ErrorSummary
from kiosk.widgets.text import Button, Static
from sync import flow
from sync.store.db import StoreBusy, StoreError, StoreFull


class CheckAnswersScreen(KioskScreen):
    def compose_body(self):
        session = kiosk_of(self).journey.session
        assert session.service is not None
        report = session.service.journey == "report"
        yield ErrorSummary()
        yield Static(self._(session.service.name), classes="caption speak", markup=False)
        heading = (self._("Check your answers before sending your report") if report
                   else self._("Check your answers before sending your request"))
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        council = kiosk_of(self).settings.council.name
        asked = set(session.pages())  # not the contact questions of a resident who chose to give none
        with Vertical(id="answers"):
            for index, question in enumerate(session.questions()):
                if question.key in asked:
                    yield self.row(index, question.key, wording.prompt(question, self._, council),
                                   self.shown(question, session.answers.get(question.key)))
                elif question.key == flow.CONTACT_KEYS[0]:
                    # One row for the contact details not given ("Not provided" three times says
                    # nothing more); its Change goes back to the choice, where they can be given.
                    yield self.row(index, CONTACT, self._("Can the council contact you about this? (optional)"),
                                   self._("No"))
        yield Static(self._("When you send it, it is saved on this kiosk straight away and sent to the council "
                            "as soon as there is a connection."), classes="body-text speak", markup=False)
        yield actions(Button(Content(self._("Send report") if report else self._("Send request")), id="continue",
                             classes="continue"))

    def row(self, index: int, key: str, label: str, value: str) -> Horizontal:
        return Horizontal(
            Static(label, classes="answer-label speak", markup=False),
            Static(value, classes="answer-value speak", markup=False),
            Button(Content(self._("Change")), id=f"change-{index}", name=key, classes="change link", compact=True),
            classes="answer-row")

    def shown(self, question, value) -> str:
        """The answer as the resident reads it back; an address (or a name) in Latin letters kept in
        its order on a right-to-left page."""
        if question.kind == "phone" and value:  # 07911 123456, as the resident typed it, its groups in order
            return isolate(typed_form(question, value), self.t.right_to_left)
        return kept_in_order(flow.display(question, value, self.t), self.t.right_to_left)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#body").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "continue":
            self.action_continue()
        elif event.button.has_class("change") and event.button.name:
            self.post_message(messages.ChangeRequested(event.button.name))

    def action_continue(self) -> None:
        self.post_message(messages.SendRequested())

    def not_saved(self, error: StoreError) -> None:
        """Sending failed in a way the resident is told about kindly: nothing typed is lost."""
        phone = self.council_phone
        if isinstance(error, StoreFull):
            text = self._("This kiosk has no room left to save your answers. Nothing you sent before has been lost. "
                          "Please ask library staff for help, or phone {phone}.").format(phone=phone)
        elif isinstance(error, StoreBusy):
            text = self._("The kiosk is busy for a moment. Please wait a few seconds, then send it again.")
        else:
            text = self._("Your answers could not be saved just now. Please ask library staff for help, or phone "
                          "{phone}.").format(phone=phone)
        self.query_one(ErrorSummary).show([text], None)
