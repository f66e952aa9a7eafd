"""Volunteer mode: signing in (a name from the list, then a PIN), the resident's consent to being
helped, and the signed-in volunteer's menu.

The GOV.UK Service Manual's assisted-digital guidance asks that help is visible and agreed to: a
volunteer signs in, the resident is asked (in their own language) whether they want the help and
whether the volunteer may type for them, and the answer travels with the submission. PINs are
checked by `sync.store.volunteers` (argon2, lockout, audit); the kiosk never keeps one.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Input

from kiosk import messages
from kiosk.context import kiosk_of
from kiosk.i18n import local_time
from kiosk.screens.base import KioskScreen, OneFieldScreen, actions
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.fields import ErrorSummary, FieldError
from kiosk.widgets.text import Button, Static
from locales import NP_
from sync.store import ASSIST_CONSENTS, Store, volunteers
from sync.store.db import StoreError

WRONG_PIN = NP_("That PIN is not right. {count} more wrong try locks this name for 15 minutes.",
                "That PIN is not right. {count} more wrong tries lock this name for 15 minutes.")
#: What the resident agreed to, as recorded with the submission.
RESIDENT_TYPES, VOLUNTEER_TYPES = ASSIST_CONSENTS


class StaffScreen(KioskScreen):
    """A page for volunteers and staff, not residents: the inactivity wipe still applies."""

    OFFERS_VOLUNTEER = False

    @property
    def store(self) -> Store:
        return kiosk_of(self).store

    @property
    def volunteer(self) -> volunteers.Volunteer:
        """Who is signed in: the pages past sign-in are closed when they sign out."""
        volunteer = kiosk_of(self).journey.volunteer
        assert volunteer is not None, "a staff page past sign-in, with nobody signed in"
        return volunteer


class VolunteerNameScreen(StaffScreen):
    """Who is signing in: chosen from the kiosk's list, never typed."""

    CAN_CONTINUE = False

    def compose_body(self):
        heading = self._("Volunteer sign-in")
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        try:
            names = volunteers.names(self.store)
        except Exception:  # a store problem: say so, and let the volunteer go back
            names = None
        if not names:
            yield Static(self._("No volunteers can sign in on this kiosk yet. Library staff can add them with the "
                                "command `assist volunteer add`.") if names is not None else
                         self._("Volunteer sign-in is not available just now. Please tell library staff."),
                         classes="body-text speak", markup=False)
            return
        yield Static(self._("Choose your name."), classes="hint speak", markup=False)
        yield ChoiceList([Choice(volunteer.name, volunteer.name) for volunteer in names], "menu", id="names")

    def on_mount(self) -> None:
        super().on_mount()
        self.focus_choices(otherwise="#back")

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.app.push_screen(PinScreen(message.key))


class PinScreen(OneFieldScreen, StaffScreen):
    """The volunteer's PIN: digits only, shown as dots, checked (and counted) by the store."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.volunteer_name = name

    def compose_body(self):
        yield ErrorSummary()
        heading = self._("Enter your PIN, {name}").format(name=self.volunteer_name)
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        yield FieldError()
        yield Input(id="pin", classes="answer-field", password=True, restrict=r"[0-9]*",
                    max_length=volunteers.PIN_MAX_DIGITS,
                    select_on_focus=False)
        yield actions(Button(Content(self._("Sign in")), id="continue", classes="continue"))

    FIELD = "#pin"

    def action_continue(self) -> None:
        field = self.query_one("#pin", Input)
        pin, field.value = field.value, ""  # the PIN leaves the screen at once, right or wrong
        if not pin:
            self.show_error(self._("Enter your PIN"), field)
            return
        try:
            volunteer = volunteers.sign_in(self.store, self.volunteer_name, pin)
        except volunteers.PinChangeRequired as required:  # right, but too easy to guess: a new one first
            self.app.switch_screen(NewPinScreen(required))
            return
        except volunteers.SignInRefused as refused:
            self.show_error(self.refusal(refused), field)
            return
        except StoreError:  # busy or full: the resident's visit, if any, is untouched
            self.show_error(self._("Volunteer sign-in is not available just now. Please tell library staff."), field)
            return
        self.post_message(messages.SignedIn(volunteer))

    def refusal(self, refused: volunteers.SignInRefused) -> str:
        if refused.reason == "wrong_pin":
            left = refused.attempts_left or 0
            return self._n(*WRONG_PIN, left).format(count=self.t.number(left))
        if refused.reason == "locked" and refused.until is not None:
            return self._("Too many wrong PINs. {name} can sign in again after {time}.").format(
                name=self.volunteer_name, time=local_time(self.t, refused.until, "HH:mm"))
        if refused.reason == "disabled":
            return self._("This name has been switched off on this kiosk. Please ask a supervisor.")
        return self._("This name cannot sign in here. Please ask a supervisor.")


class NewPinScreen(OneFieldScreen, StaffScreen):
    """A right but weak PIN (set before the PIN rules) must be replaced before the volunteer goes
    on: the new PIN twice, then they are signed in. Nothing is kept but the first entry, until
    the second; leaving (Back, or the inactivity wipe) leaves the old PIN and nobody signed in."""

    FIELD = "#pin"

    def __init__(self, required: volunteers.PinChangeRequired) -> None:
        super().__init__()
        self.required = required
        self.first: str | None = None

    def compose_body(self):
        yield ErrorSummary()
        heading = self._("Choose a new PIN, {name}").format(name=self.required.volunteer.name)
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        yield Static(self._("Your PIN is too easy to guess. Choose a new one to go on."), id="new-pin-hint",
                     classes="hint speak", markup=False)
        yield FieldError()
        yield Input(id="pin", classes="answer-field", password=True, restrict=r"[0-9]*",
                    max_length=volunteers.PIN_MAX_DIGITS, select_on_focus=False)
        yield actions(Button(Content(self._("Continue")), id="continue", classes="continue"))

    def action_continue(self) -> None:
        field = self.query_one("#pin", Input)
        pin, field.value = field.value, ""  # the PIN leaves the field at once
        if self.first is None:
            try:
                volunteers.check_pin(pin)
            except volunteers.AccountError:
                self.show_error(self._("That PIN is too easy to guess or too short. Choose another."), field)
                return
            self.first = pin
            self.clear_error()
            self.query_one("#new-pin-hint", Static).update(self._("Type the new PIN again."))
            field.focus()
            return
        first, self.first = self.first, None
        if pin != first:
            self.query_one("#new-pin-hint", Static).update(
                self._("Your PIN is too easy to guess. Choose a new one to go on."))
            self.show_error(self._("The two PINs were not the same. Choose a new PIN again."), field)
            return
        try:
            volunteer = volunteers.change_pin(self.store, self.required, pin)
        except volunteers.AccountChanged:  # switched off, or its PIN changed elsewhere, meanwhile
            self.show_error(self._("This name cannot sign in here. Please ask a supervisor."), field)
            return
        except StoreError:
            self.show_error(self._("Volunteer sign-in is not available just now. Please tell library staff."), field)
            return
        self.post_message(messages.SignedIn(volunteer))


class ConsentScreen(KioskScreen):
    """Asked of the resident, in their language: do you want this volunteer's help, and may they type?"""

    CAN_GO_BACK = False
    CAN_CONTINUE = False
    OFFERS_VOLUNTEER = False

    def __init__(self, volunteer_name: str) -> None:
        super().__init__()
        self.volunteer_name = volunteer_name

    def compose_body(self):
        name = self.volunteer_name
        heading = self._("Would you like {name} to help you?").format(name=name)
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        yield Static(self._("{name} is a library volunteer. They can see this screen. The council will be told "
                            "that a volunteer helped you.").format(name=name), classes="body-text speak", markup=False)
        yield ChoiceList([
            Choice(VOLUNTEER_TYPES, self._("Yes, and {name} can type for me").format(name=name)),
            Choice(RESIDENT_TYPES, self._("Yes, but I will do the typing")),
            Choice("no", self._("No, thank you. I will do it myself")),
        ], "menu", id="consent")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.Consented(None if message.key == "no" else message.key))


class VolunteerMenuScreen(StaffScreen):
    """What a signed-in volunteer can do from any page (F9, or "Volunteer" in the top bar)."""

    CAN_CONTINUE = False

    def compose_body(self):
        volunteer = self.volunteer
        heading = self._("Signed in as {name}").format(name=volunteer.name)
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        yield ChoiceList([
            Choice("dashboard", self._("Staff dashboard"), self._("Requests waiting, needing attention, sync now")),
            Choice("sign_out", self._("Sign out")),
        ], "menu", id="volunteer-menu")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.DashboardRequested() if message.key == "dashboard" else messages.SignOutRequested())
