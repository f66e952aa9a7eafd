"""The staff dashboard, for a signed-in volunteer or supervisor: what this kiosk holds and whether
it reaches the council, the requests the council refused (with its reason) and what to do about
them, "sync now", and, for a supervisor, leaving the kiosk for maintenance and resolving a
request that may already be at the council (never resent by hand: see sync/open311/resolve.py).

Everything is read from the store, so it works offline. Residents' personal data is shown only
as far as a fix needs it: the place and the description of a refused request, never contact
details. Every action goes through `sync.store.volunteers`, which records it in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Input, TextArea

from kiosk import messages
from kiosk.context import kiosk_of
from kiosk.i18n import local_time
from kiosk.screens.base import actions
from kiosk.screens.volunteer import StaffScreen
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.fields import ErrorSummary, FieldError
from kiosk.widgets.text import Button, Static
from locales import N_
from sync import flow
from sync import reference as references
from sync.store import MaybeSent, TransitionError, audit, parse_iso, volunteers
from sync.store.db import StoreError

#: The outbox's states in a word or two, for staff.
STATE_NAMES = {
    "queued": N_("Waiting to send"),
    "sending": N_("Being sent"),
    "awaiting_id": N_("Waiting for the council's number"),
    "accepted": N_("With the council"),
    "needs_attention": N_("Needs attention"),
    "cancelled": N_("Cancelled"),
    "exported": N_("Passed on by hand"),
}


@dataclass
class BadCorrection(Exception):
    """A correction the question flow refused, and the field it was typed in."""

    invalid: flow.Invalid
    field: Widget


class DashboardScreen(StaffScreen):
    CAN_CONTINUE = False

    def compose_body(self):
        kiosk = kiosk_of(self)
        store = kiosk.store
        heading = self._("Staff dashboard")
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        counts = store.counts()
        with Vertical(id="outbox-counts"):
            for state, name in STATE_NAMES.items():
                with Horizontal(classes="answer-row"):
                    yield Static(self._(name), classes="answer-label speak", markup=False)
                    yield Static(self.t.number(counts.get(state, 0)), id=f"count-{state}",
                                 classes="answer-value speak", markup=False)
        oldest = store.oldest_queued_at()
        # TRANSLATORS: Staff dashboard. {time} is a short date and time, such as 24/11/2026, 09:00.
        yield Static(self._("Oldest request waiting: saved {time}").format(time=local_time(self.t, oldest, "short"))
                     if oldest else self._("Nothing is waiting to be sent."), id="oldest", classes="body-text speak",
                     markup=False)
        yield Static(self.connection_text(store.backoffice_states()), id="reachability", classes="body-text speak",
                     markup=False)
        fetched = store.catalogue_fetched_at()
        yield Static(self._("List of services last refreshed from the council: {time}").format(
            time=local_time(self.t, fetched, "short")) if fetched else
            self._("The list of services has not been refreshed from the council yet: the built-in list is in use."),
            id="catalogue", classes="body-text speak", markup=False)
        attention = store.listing(["needs_attention"])
        yield Static(self._("Needs attention"), classes="subheading speak", markup=False)
        if attention:
            catalogue = kiosk.journey.catalogue
            yield ChoiceList([Choice(row["reference"], self.label(row, catalogue),
                                     self._("The council said: {reason}").format(reason=row["last_error"] or "?"))
                              for row in attention], "menu", id="attention")
        else:
            yield Static(self._("Nothing needs attention."), id="no-attention", classes="body-text speak",
                         markup=False)
        yield actions(Button(Content(self._("Sync now")), id="sync-now", classes="continue"))
        yield actions(Button(Content(self._("Sign out")), id="sign-out", classes="continue"))
        volunteer = kiosk.journey.volunteer
        if volunteer is not None and volunteer.can("maintenance"):
            yield actions(Button(Content(self._("Leave the kiosk for maintenance")), id="leave", classes="continue"))

    def label(self, row, catalogue) -> str:
        service = catalogue.get(row["service_code"])
        name = self._(service.name) if service else row["service_code"]
        return f"{references.display(row['reference'])} · {name}"

    def connection_text(self, states: dict) -> str:
        known = [state for state in states.values() if state.get("reachable") is not None]
        if not known:
            return self._("The sync worker has not tried to reach the council yet.")
        paused = [state for state in known if state.get("paused")]
        if paused:
            return self._("Sending is paused: {reason}").format(reason=paused[0].get("paused_reason") or "?")
        if all(state["reachable"] for state in known):
            checked = max(parse_iso(state["checked_at"]) for state in known if state.get("checked_at"))
            return self._("In touch with the council at {time}").format(time=local_time(self.t, checked, "HH:mm"))
        return self._("The council cannot be reached just now. Requests are kept safe here.")

    def on_mount(self) -> None:
        super().on_mount()
        self.focus_choices(otherwise="#sync-now")

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.app.push_screen(AttentionScreen(message.key))

    @messages.guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "sync-now":
            self.sync_now()
        elif event.button.id == "sign-out":
            self.post_message(messages.SignOutRequested())
        elif event.button.id == "leave":
            self.post_message(messages.MaintenanceRequested())

    def sync_now(self) -> None:
        try:
            volunteers.sync_now(self.store, self.volunteer)
        except (StoreError, volunteers.NotAllowed):
            self.notify(self._("That could not be done just now: the request may have changed. Go back and look "
                               "again."), severity="error", timeout=6)
            return
        self.notify(self._("The kiosk will send what is waiting as soon as it can."), timeout=4)


class AttentionScreen(StaffScreen):
    """One refused request: the council's reason, and its answers as far as a fix needs them (the
    place, the service's own questions, the description), each editable; then send it again, or
    cancel it with a reason. Answers are checked by the same question flow as the resident's."""

    CAN_CONTINUE = False

    def __init__(self, reference: str) -> None:
        super().__init__()
        self.reference = reference
        self.original: dict[str, str] = {}

    def compose_body(self):
        store = self.store
        row = next((item for item in store.listing(["needs_attention"]) if item["reference"] == self.reference), None)
        yield ErrorSummary()
        # TRANSLATORS: Staff page heading for one request; {reference} looks like K7Q-4MB-XP9Z.
        heading = self._("Request {reference}").format(reference=references.display(self.reference))
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        if row is None:
            yield Static(self._("This request no longer needs attention."), classes="body-text speak", markup=False)
            return
        payload = store.personal(self.reference)["payload"] or {}
        audit.record(store, self.volunteer.name, "view", "ok", references.display(self.reference),
                     "the place and description, to correct them")
        service = kiosk_of(self).journey.catalogue.get(row["service_code"])
        yield Static(self._("The council said: {reason}").format(reason=row["last_error"] or "?"),
                     id="reason", classes="warning-text speak", markup=False)
        if row["maybe_sent"]:
            yield Static(self.maybe_sent_text(), id="maybe-sent", classes="warning-text speak", markup=False)
        # TRANSLATORS: When the request was saved on the kiosk; {time} is a short date and time.
        yield Static(self._("Saved {time}").format(time=local_time(self.t, parse_iso(row["created_at"]), "short")),
                     classes="hint speak", markup=False)
        yield FieldError()
        self.questions = self.fixable(service)
        attributes = payload.get("attributes") or {}
        self.original = {"place": (payload.get("location") or {}).get("address_string") or "",
                         "description": payload.get("description") or ""}
        # TRANSLATORS: Heading above the place of a request, which staff may correct (an address or a description).
        yield Static(self._("Where"), classes="subheading speak", markup=False)
        yield Input(self.original["place"], id="place", classes="answer-field", max_length=200, select_on_focus=False)
        for question in self.questions:
            value = attributes.get(question.attribute_code)
            self.original[question.key] = flow.display(question, value, self.t) if value not in (None, "", []) else ""
            yield Static(self._(question.prompt), classes="subheading speak", markup=False)
            if question.choices:
                yield Static(", ".join(f"{number} {self._(choice.label)}" for number, choice
                                       in enumerate(question.choices, 1)), classes="hint speak", markup=False)
            yield Input(self.original[question.key], id=f"q-{question.attribute_code}", name=question.key,
                        classes="answer-field", select_on_focus=False)
        # TRANSLATORS: Heading above the resident's own words about the problem, which staff may correct.
        yield Static(self._("Description"), classes="subheading speak", markup=False)
        yield TextArea(self.original["description"], id="description", classes="answer-field")
        yield actions(Button(Content(self._("Send again")), id="resend", classes="continue"))
        yield from self.resolution(store, row)
        yield Static(self._("Or cancel it"), classes="subheading speak", markup=False)
        yield Static(self._("Why is it being cancelled?"), classes="hint speak", markup=False)
        yield Input(id="cancel-reason", classes="answer-field", max_length=200, select_on_focus=False)
        yield actions(Button(Content(self._("Cancel this request")), id="cancel", classes="continue"))

    def maybe_sent_text(self) -> str:
        """Shown on the page, and again when a resend of such a request is refused."""
        # TRANSLATORS: Staff page. Keep `assist outbox resolve` as it is: it is a command.
        return self._("This request may already be at the council: it cannot be sent again until a supervisor "
                      "resolves it, here or with `assist outbox resolve`.")

    def resolution(self, store, row):
        """What was last asked about where this request is, and, for a supervisor, the two ways to
        settle it: at the council under an id (which the sync worker checks there, as the kiosk
        never calls out), or not there (queued again at once)."""
        asked = store.last_resolution(self.reference)
        if asked and asked["outcome"] is None:
            # TRANSLATORS: Staff page. {id} is the council's own number for a request, such as 4021.
            yield Static(self._("Waiting for the sync worker to check the council's id {id}.").format(
                id=asked["council_id"]), id="resolution", classes="hint speak", markup=False)
        elif asked and asked["outcome"] == "refused":
            # TRANSLATORS: Staff page. {id} is the council's number for a request; {reason} is in English.
            yield Static(self._("The council's id {id} was not adopted: {reason}").format(
                id=asked["council_id"], reason=asked["reason"] or "?"), id="resolution",
                classes="warning-text speak", markup=False)
        if not self.volunteer.can("resolve"):
            return
        yield Static(self._("The council's id for this request"), classes="hint speak", markup=False)
        yield Input(id="council-id", classes="answer-field", max_length=100, select_on_focus=False)
        yield actions(Button(Content(self._("Resolve: it is at the council (enter its id)")), id="resolve-at-council",
                             classes="continue"))
        yield actions(Button(Content(self._("Resolve: it is not at the council (send again)")),
                             id="resolve-not-at-council", classes="continue"))

    @staticmethod
    def fixable(service) -> list[flow.Question]:
        """The service's own questions (its Open311 attributes): what a council refuses most."""
        if service is None:
            return []
        return [question for question in flow.questions(service) if question.attribute_code]

    def on_mount(self) -> None:
        super().on_mount()
        found = self.query("#resend")
        (found.first() if found else self.query_one("#back")).focus()

    def corrections(self) -> dict:
        """What staff changed, checked by the question flow; raises BadCorrection."""
        changes: dict = {}
        place = self.query_one("#place", Input)
        if place.value.strip() != self.original["place"]:
            try:
                changes["location"] = flow.validate(flow.Question("location", "location", "", required=True),
                                                    {"address_string": place.value})
            except flow.Invalid as invalid:
                raise BadCorrection(invalid, place) from invalid
        attributes = {}
        for question in self.questions:
            field = self.query_one(f"#q-{question.attribute_code}", Input)
            if field.value.strip() == self.original[question.key]:
                continue
            try:
                attributes[question.attribute_code] = flow.validate(question, field.value, translate=self.t.gettext)
            except flow.Invalid as invalid:
                raise BadCorrection(invalid, field) from invalid
        if attributes:
            changes["attributes"] = attributes
        written = self.query_one("#description", TextArea).text.strip()
        if written != self.original["description"].strip():
            changes["description"] = written
        return changes

    @messages.guarded
    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {"resend": self.resend, "resolve-at-council": self.resolve_at_council,
                   "resolve-not-at-council": self.resolve_not_at_council, "cancel": self.cancel}
        act = actions.get(event.button.id or "")
        if act is None:
            return
        try:
            done = act()
        except MaybeSent:
            self.query_one(ErrorSummary).show([self.maybe_sent_text()], None)
            return
        except (TransitionError, StoreError, volunteers.NotAllowed):
            self.query_one(ErrorSummary).show([self._("That could not be done just now: the request may have "
                                                      "changed. Go back and look again.")], None)
            return
        if done is not None:
            self.notify(done, timeout=5)
            self.post_message(messages.RequestHandled())

    # Each action on the request: what staff are told when it is done, or None after showing an error.

    def resend(self) -> str | None:
        try:
            changes = self.corrections()
        except BadCorrection as bad:
            self.show_error(bad.invalid.render(self.t), bad.field)
            return None
        if changes:
            volunteers.correct(self.store, self.volunteer, self.reference, **changes)
        else:
            volunteers.resend(self.store, self.volunteer, self.reference)
        return self._("Sent back to the queue. The kiosk will send it again shortly.")

    def resolve_at_council(self) -> str | None:
        field = self.query_one("#council-id", Input)
        if not field.value.strip():
            self.show_error(self._("Enter the council's id for this request"), field)
            return None
        volunteers.ask_to_resolve(self.store, self.volunteer, self.reference, field.value.strip())
        return self._("The kiosk will check this id with the council and adopt it if it matches.")

    def resolve_not_at_council(self) -> str | None:
        volunteers.resolve_not_at_council(self.store, self.volunteer, self.reference)
        return self._("Sent back to the queue. The kiosk will send it again shortly.")

    def cancel(self) -> str | None:
        field = self.query_one("#cancel-reason", Input)
        if not field.value.strip():
            self.show_error(self._("Say why it is being cancelled"), field)
            return None
        volunteers.cancel(self.store, self.volunteer, self.reference, field.value.strip())
        return self._("Cancelled. The reason is kept with the request.")
