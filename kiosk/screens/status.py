"""Check on something reported here: type the reference (spaces, hyphens and case ignored) and see
the last status this kiosk knows, the council's notes and when it was updated. It reads the store
only, so it works offline; council notes are shown as plain text, never as markup."""

from __future__ import annotations

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input

from kiosk import messages, statuses
from kiosk.context import kiosk_of
from kiosk.i18n import when
from kiosk.screens.base import KioskScreen, OneFieldScreen, actions
from kiosk.screens.followup import FollowUpScreen
from kiosk.widgets.fields import ErrorSummary, FieldError
from kiosk.widgets.text import Button, Static
from sync import reference as references
from sync.store import Lookup


class ReferenceScreen(OneFieldScreen):
    def compose_body(self):
        yield ErrorSummary()
        heading = self._("What is your reference?")
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        yield Static(self._("It looks like K7Q-4MB-XP9Z. You were given it when you reported something at this "
                            "kiosk."), classes="hint speak", markup=False)
        yield FieldError()
        yield Input(id="answer", classes="answer-field reference-input", max_length=40, select_on_focus=False)
        yield actions(Button(Content(self._("Continue")), id="continue", classes="continue"))

    def action_continue(self) -> None:
        field = self.query_one("#answer", Input)
        typed = field.value
        phone = self.council_phone
        if not typed.strip():
            self.show_error(self._("Enter your reference"), field)
            return
        if references.parse(typed) is None:
            self.show_error(self._("Check your reference. It has 10 letters and numbers, like K7Q-4MB-XP9Z"), field)
            return
        found = kiosk_of(self).store.lookup(typed)
        if found is None:
            self.show_error(self._("There is no request with that reference on this kiosk. To check on something "
                                   "reported another way, phone {phone}.").format(phone=phone), field)
            return
        self.clear_error()  # "Check another reference" comes back to a clean page
        self.app.push_screen(RequestStatusScreen(found))



class RequestStatusScreen(KioskScreen):
    CAN_CONTINUE = False

    def __init__(self, lookup: Lookup) -> None:
        super().__init__()
        self.lookup = lookup

    def compose_body(self):
        found = self.lookup
        t = self.t
        service = kiosk_of(self).journey.catalogue.get(found.service_code)
        name = self._(service.name) if service else found.service_code.replace("_", " ")
        yield Static(self._("Reference {reference}").format(reference=references.display(found.reference)),
                     classes="caption speak", markup=False)
        yield Static(name, classes="heading speak", markup=False)
        with Vertical(id="status-summary"):
            for label, value in (
                (self._("Status"), statuses.current(found, t)),
                (self._("Last updated"), when(t, found.updated_at)),
                (self._("Reported"), when(t, found.created_at)),
            ):
                with Horizontal(classes="answer-row"):
                    yield Static(label, classes="answer-label speak", markup=False)
                    yield Static(value, classes="answer-value speak", markup=False)
            notes = statuses.latest_notes(found)
            if notes:
                with Horizontal(classes="answer-row"):
                    yield Static(self._("Note from the council"), classes="answer-label speak", markup=False)
                    yield Static(notes, classes="answer-value speak", id="council-notes", markup=False)
        yield Static(self._("This is the latest news this kiosk has. It is updated whenever the kiosk is "
                            "connected."), classes="hint speak", markup=False)
        yield Static(self._("What has happened"), classes="subheading speak", markup=False)
        lines = []
        for entry in reversed(found.history):
            said = statuses.describe(entry.status, t, council=entry.source == "council")
            text = f"{when(t, entry.at)}  {said}"
            if entry.notes and entry.source == "council":
                text += f": {entry.notes}"
            lines.append(text)
        yield Static("\n".join(lines), id="history", classes="body-text speak", markup=False)
        if found.state == "accepted":  # the council has it: the resident may follow it up
            yield Static(self._("Is something still wrong?"), classes="subheading speak", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(Content(self._("It is not fixed")), id="not-fixed", classes="secondary")
                yield Button(Content(self._("Add a comment")), id="comment", classes="secondary")
        with Horizontal(classes="buttons"):
            yield Button(Content(self._("Check another reference")), id="another", classes="secondary")
            yield Button(Content(self._("Finish")), id="finish", classes="continue")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#body").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "another":
            self.post_message(messages.BackRequested())
        elif event.button.id == "finish":
            self.post_message(messages.StartAgain())
        elif event.button.id in ("not-fixed", "comment"):
            kind = "not_fixed" if event.button.id == "not-fixed" else "comment"
            self.app.push_screen(FollowUpScreen(self.lookup.reference, kind))
