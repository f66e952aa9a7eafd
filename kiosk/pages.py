"""The pages a `Journey` can name, as plain data: what to show and with what, never how.

The journey decides which of these comes next; the app turns each into its screen
(`kiosk/screens/`). Keeping them free of Textual lets the journey's rules be tested in
milliseconds, without a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync import flow
from sync.catalogue import Service


@dataclass(frozen=True)
class Receipt:
    """What the confirmation needs, and nothing else the resident typed."""

    reference: str  # as displayed, K7Q-4MB-XP9Z
    journey: str  # report | request
    service_name: str  # message id
    texted_to: str | None = None  # the last digits of the mobile number the reference will be texted to
    street: str = ""  # the street of an address from the gazetteer, for the printed reference ("" if described)


@dataclass(frozen=True)
class Page:
    """A page of the resident's journey."""


@dataclass(frozen=True)
class Welcome(Page):
    """What the kiosk can do, and Start."""


@dataclass(frozen=True)
class Tasks(Page):
    """What do you want to do?"""


@dataclass(frozen=True)
class Reference(Page):
    """What is your reference? (a status check)"""


@dataclass(frozen=True)
class Groups(Page):
    journey: str  # report | request
    groups: tuple[str, ...]


@dataclass(frozen=True)
class Services(Page):
    group: str
    services: tuple[Service, ...]


@dataclass(frozen=True)
class Urgent(Page):
    service: Service


@dataclass(frozen=True)
class Contact(Page):
    """Why contact details help, before the first contact question."""


@dataclass(frozen=True)
class Question(Page):
    question: flow.Question
    changing: bool = False  # reached by "Change" from the check page: it goes back there


@dataclass(frozen=True)
class Check(Page):
    """Check your answers."""


@dataclass(frozen=True)
class BackToCheck(Page):
    """Not a new page: the check page already on the stack, drawn again with the changed answer."""


@dataclass(frozen=True)
class Consent(Page):
    """Does the resident want this volunteer's help?"""

    volunteer_name: str


@dataclass(frozen=True)
class Confirmation(Page):
    receipt: Receipt
