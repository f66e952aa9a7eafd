"""The screen for each page a journey names (kiosk/pages.py).

A kiosk starts on the language menu and most visits never see the staff pages, so the modules of
the pages past the first are imported here, when the journey first names one of them, not at
start: a kiosk's start pays only for what its first page draws.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen

from kiosk import pages


def screen_for(page: pages.Page) -> Screen[Any]:
    from kiosk.screens.check import CheckAnswersScreen
    from kiosk.screens.confirmation import ConfirmationScreen
    from kiosk.screens.contact import ContactScreen
    from kiosk.screens.location import LocationScreen
    from kiosk.screens.question import QuestionScreen
    from kiosk.screens.services import GroupScreen, ServiceScreen, UrgentScreen
    from kiosk.screens.start import TaskScreen, WelcomeScreen
    from kiosk.screens.status import ReferenceScreen
    from kiosk.screens.volunteer import ConsentScreen

    #: Pages that need nothing but themselves to be drawn.
    plain: dict[type[pages.Page], type[Screen[Any]]] = {
        pages.Welcome: WelcomeScreen,
        pages.Tasks: TaskScreen,
        pages.Reference: ReferenceScreen,
        pages.Contact: ContactScreen,
        pages.Check: CheckAnswersScreen,
    }
    if isinstance(page, pages.Question):
        if page.question.kind == "location":
            return LocationScreen(page.question, changing=page.changing)
        return QuestionScreen(page.question, changing=page.changing)
    if isinstance(page, pages.Groups):
        return GroupScreen(page.journey, list(page.groups))
    if isinstance(page, pages.Services):
        return ServiceScreen(page.group, list(page.services))
    if isinstance(page, pages.Urgent):
        return UrgentScreen(page.service)
    if isinstance(page, pages.Consent):
        return ConsentScreen(page.volunteer_name)
    if isinstance(page, pages.Confirmation):
        return ConfirmationScreen(page.receipt)
    return plain[type(page)]()
