"""Choosing what the report or request is about: a group, then a service, in the catalogue's
plain words (the council's names, translated), and a service's urgent notice before anything else."""

from __future__ import annotations

from textual.content import Content

from kiosk import messages
from kiosk.screens.base import KioskScreen, OneButtonScreen, actions
from kiosk.session import URGENT
from kiosk.widgets.choices import Choice, ChoiceList
from kiosk.widgets.text import Button, Static
from sync.catalogue import Service


class GroupScreen(KioskScreen):
    CAN_CONTINUE = False

    def __init__(self, journey: str, groups: list[str]) -> None:
        super().__init__()
        self.journey = journey
        self.groups = groups

    def compose_body(self):
        heading = (self._("What is the problem about?") if self.journey == "report"
                   else self._("What do you need?"))
        yield Static(heading, classes="heading speak", markup=False)
        yield ChoiceList([Choice(group, self._(group) if group else self._("Other")) for group in self.groups],
                         "menu", id="groups")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.GroupChosen(message.key))


class ServiceScreen(KioskScreen):
    CAN_CONTINUE = False

    def __init__(self, group: str, services: list[Service]) -> None:
        super().__init__()
        self.group = group
        self.services = services

    def compose_body(self):
        if self.group:
            yield Static(self._(self.group), classes="caption speak", markup=False)
        yield Static(self._("Which of these is it?"), classes="heading speak", markup=False)
        yield ChoiceList([Choice(service.code, self._(service.name), self._(service.description))
                          for service in self.services], "menu", id="services")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChoiceList).focus_first()

    def on_choice_list_picked(self, message: ChoiceList.Picked) -> None:
        message.stop()
        self.post_message(messages.ServiceChosen(message.key))


class UrgentScreen(OneButtonScreen):
    """"If someone could be hurt, phone ... now", before any question."""

    def __init__(self, service: Service) -> None:
        super().__init__()
        self.service = service

    def compose_body(self):
        phone = self.council_phone
        yield Static(self._(self.service.name), classes="caption speak", markup=False)
        yield Static(self._("Is it urgent?"), classes="heading speak", markup=False)
        notice = self._(self.service.urgent_notice).replace("{phone}", phone)
        yield Static("! " + notice, classes="warning-text speak", id="urgent-notice", markup=False)
        yield Static(self._("If it is not urgent, continue to report it here."), classes="body-text speak",
                     markup=False)
        yield actions(Button(Content(self._("Continue")), id="continue", classes="continue"))

    def action_continue(self) -> None:
        self.post_message(messages.NoticeRead(URGENT))
