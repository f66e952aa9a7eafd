"""The first two pages: choose a language (each named in itself), then a short welcome saying what
the kiosk can do, that a volunteer can help, and how long it waits before clearing answers."""

from __future__ import annotations

import math

from textual.content import Content

import locales
from kiosk import messages
from kiosk.context import kiosk_of
from kiosk.screens.base import KioskScreen, OneButtonScreen, actions
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.text import Button, Static
from locales import N_, NP_

CHOOSE_LANGUAGE = N_("Choose your language")
# TRANSLATORS: Shown beside the language's own name on the first page ("Polski · draft translation"),
# for a translation no native speaker has checked yet. Keep it short: one line with the name.
DRAFT = N_("draft translation")
PRIVACY = NP_("For your privacy, the kiosk clears your answers after {minutes} minute without use. "
              "It warns you first.",
              "For your privacy, the kiosk clears your answers after {minutes} minutes without use. "
              "It warns you first.")


class LanguageScreen(KioskScreen):
    """The start: every enabled language, named in itself, with its own "Choose your language"."""

    CAN_GO_BACK = False
    CAN_CONTINUE = False
    OFFERS_LANGUAGE = False  # this page is the choice

    def compose_body(self):
        codes = kiosk_of(self).languages
        heading = " · ".join(dict.fromkeys(locales.translator(code)(CHOOSE_LANGUAGE) for code in codes))
        yield Static(heading, classes="heading speak", markup=False)
        # One line each, so that all ten fit on the smallest screen: the name, and a draft's note.
        choices = [Choice(code, locales.native_name(code) if locales.manifest(code).reviewed else
                          f"{locales.native_name(code)} · {locales.translator(code)(DRAFT)}")
                   for code in codes]
        yield ChoiceList(choices, "menu", id="languages")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.LanguageChosen(message.key))


class ChangeLanguageScreen(LanguageScreen):
    """The same choice mid-visit (F4 or the top bar's "Language"): answers are kept, and Back
    leaves the language as it was."""

    CAN_GO_BACK = True

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        message.prevent_default()  # not LanguageScreen's handler too: this is not a new visit
        self.post_message(messages.LanguageSwitched(message.key))


class WelcomeScreen(OneButtonScreen):
    def compose_body(self):
        settings = kiosk_of(self).settings
        yield Static(self._("Report a problem or ask the council for a service"), classes="heading speak",
                     markup=False)
        yield Static("\n".join([
            self._("You can use this kiosk to:"),
            "• " + self._("report a problem, like a pothole or a missed bin"),
            "• " + self._("ask for a service, like collecting a sofa"),
            "• " + self._("check on something you reported here"),
        ]), classes="bullets speak", markup=False)
        yield Static(self._("A library volunteer can help you at any time. Just ask."),
                     classes="body-text speak", markup=False)
        yield Static(self._("Your request is kept safe on this kiosk and sent to {council}, even when there is "
                            "no internet connection.").format(council=settings.council.name),
                     classes="body-text speak", markup=False)
        minutes = math.ceil((settings.kiosk.timeout_seconds + settings.kiosk.warning_seconds) / 60)
        yield Static(self._n(*PRIVACY, minutes).format(minutes=self.t.number(minutes)),
                     classes="body-text hint speak", markup=False)
        yield actions(Button(Content(self._("Start")), id="continue", classes="continue"))

    def action_continue(self) -> None:
        self.post_message(messages.StartPressed())


class TaskScreen(KioskScreen):
    """What do you want to do?"""

    CAN_CONTINUE = False

    def compose_body(self):
        yield Static(self._("What do you want to do?"), classes="heading speak", markup=False)
        yield ChoiceList([
            Choice("report", self._("Report a problem"), self._("Like a pothole, fly-tipping or a missed bin")),
            Choice("request", self._("Ask for a service"), self._("Like collecting a sofa or a fridge")),
            Choice("status", self._("Check on something I reported"), self._("You will need your reference")),
        ], "menu", id="tasks")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.TaskChosen(message.key))
