"""After a status check of a request the council has: "It is not fixed" or "Add a comment".

The follow-up is saved on this kiosk (sync/store/followups.py) and the sync worker sends it to the
council when it can, so it works offline like everything else here. The comment is short and
optional for "not fixed"; it is sealed in the store and never shown again, and the page that
held it is replaced by the thank-you page once it is saved."""

from __future__ import annotations

import logging

from textual.content import Content
from textual.widgets import Input

from kiosk.context import kiosk_of
from kiosk.screens.base import LastPage, OneFieldScreen, actions
from kiosk.widgets.fields import ErrorSummary, FieldError
from kiosk.widgets.text import Button, Static
from locales import N_
from sync import reference as references
from sync.store.db import StoreError
from sync.store.followups import COMMENT_MAX, FollowUps, Refusal

log = logging.getLogger(__name__)

#: What the resident is told when a follow-up cannot be taken, by Refusal.outcome.
REFUSED = {
    "closed": N_("This request is closed, so a comment cannot be added. If the problem is back, choose "
                 "\"It is not fixed\"."),
    "not_accepted": N_("The council does not have this request yet. It will be sent as soon as there is a "
                       "connection: there is nothing more to do."),
    "unknown": N_("There is no request with that reference on this kiosk."),
    "empty": N_("Enter your comment"),
}


class FollowUpScreen(OneFieldScreen):
    """One optional (not fixed) or required (comment) short comment, and Send."""

    def __init__(self, reference: str, kind: str) -> None:
        super().__init__()
        self.reference = reference  # canonical
        self.kind = kind  # not_fixed | comment

    def compose_body(self):
        yield ErrorSummary()
        not_fixed = self.kind == "not_fixed"
        heading = (self._("Tell the council it is not fixed") if not_fixed
                   else self._("Add a comment for the council"))
        self.title = heading
        yield Static(self._("Reference {reference}").format(reference=references.display(self.reference)),
                     classes="caption speak", markup=False)
        yield Static(heading, classes="heading speak", markup=False)
        yield Static(self._("If you like, say in a few words what is still wrong (optional).") if not_fixed
                     else self._("Your comment, in a few words."), classes="hint speak", markup=False)
        yield FieldError()
        yield Input(id="answer", classes="answer-field", max_length=COMMENT_MAX, select_on_focus=False)
        yield Static(self._("It is saved on this kiosk and sent to the council as soon as there is a connection."),
                     classes="body-text speak", markup=False)
        yield actions(Button(Content(self._("Send")), id="continue", classes="continue"))

    def action_continue(self) -> None:
        field = self.query_one("#answer", Input)
        store = kiosk_of(self).store
        try:
            added = FollowUps(store).add(self.reference, self.kind, field.value, channel="kiosk")
        except Refusal as refusal:
            log.info("kiosk follow-up to %s refused: %s", refusal.reference, refusal.outcome)
            self.show_error(self._(REFUSED[refusal.outcome]), field)
            return
        except StoreError:
            self.show_error(self._("Your answers could not be saved just now. Please ask library staff for help, or "
                                   "phone {phone}.").format(phone=self.council_phone), field)
            return
        try:
            store.request("sync_now")
        except StoreError as error:  # saved all the same: the worker sends it on its next round
            log.warning("could not ask the worker to sync now: %s", error)
        self.app.switch_screen(FollowUpSentScreen(references.display(added.reference), added.kind))


class FollowUpSentScreen(LastPage):
    CAN_GO_BACK = False
    CAN_CONTINUE = False

    def __init__(self, reference: str, kind: str) -> None:
        super().__init__()
        self.reference = reference  # as displayed
        self.kind = kind

    def compose_body(self):
        heading = self._("Thank you")
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        text = (self._("Thank you. We will tell the council that {reference} is not fixed.") if self.kind == "not_fixed"
                else self._("Thank you. We will send your comment on {reference} to the council."))
        yield Static(text.format(reference=self.reference), id="followup-sent", classes="body-text speak",
                     markup=False)
        yield self.finish_button()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#finish").focus()
