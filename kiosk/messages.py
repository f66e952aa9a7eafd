"""What a kiosk page tells the app: one typed message per thing a resident (or a volunteer) did.

Pages post these upward and never call the app by name; the app routes each one with `@on(...)`
to the `Journey` (kiosk/journey.py), which decides what comes next. A test can run the app with
`message_hook=` and read a visit as the list of these messages.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Concatenate, Coroutine, ParamSpec, TypeVar

from textual import events
from textual.message import Message
from textual.message_pump import MessagePump

if TYPE_CHECKING:  # a type only: the volunteers' module (and argon2) loads with the first sign-in
    from sync.store import volunteers

# -------------------------------------------------------------------------------------------------
# The resident's journey


@dataclass
class LanguageChosen(Message):
    """A language was picked on the first page: a visit starts (or starts again in it)."""

    code: str


@dataclass
class LanguageSwitched(Message):
    """A language was picked from the menu mid-visit: every page is drawn again, answers kept."""

    code: str


class StartPressed(Message):
    """"Start" on the welcome page."""


@dataclass
class TaskChosen(Message):
    """What the resident wants to do: "report", "request" or "status"."""

    task: str


@dataclass
class GroupChosen(Message):
    group: str


@dataclass
class ServiceChosen(Message):
    code: str


@dataclass
class NoticeRead(Message):
    """Continue on a page that asks nothing (the urgent notice): the next page, please."""

    page: str


@dataclass
class Answered(Message):
    """A question was answered with a value the question flow has already checked."""

    key: str
    value: Any
    changing: bool = False


@dataclass
class ContactChosen(Message):
    """Whether the resident will give contact details."""

    wanted: bool


@dataclass
class ChangeRequested(Message):
    """"Change" beside an answer on the check page."""

    key: str


class SendRequested(Message):
    """"Send report" (or "Send request") on the check page."""


class BackRequested(Message):
    """The Back link or Escape."""


class StartAgain(Message):
    """Finish, "Clear my answers now", or "Start again": forget this visit."""


class MoreTime(Message):
    """"I need more time" on the inactivity warning."""


# -------------------------------------------------------------------------------------------------
# Volunteers and staff


@dataclass
class SignedIn(Message):
    """A volunteer's PIN was accepted (or their new PIN set)."""

    volunteer: volunteers.Volunteer


@dataclass
class Consented(Message):
    """The resident's answer to a volunteer's offer of help: None declines it."""

    consent: str | None


class SignOutRequested(Message):
    """"Sign out" on a staff page."""


class DashboardRequested(Message):
    """"Staff dashboard" on the volunteer menu."""


class RequestHandled(Message):
    """Staff acted on one request: back to the dashboard, with fresh figures."""


class MaintenanceRequested(Message):
    """"Leave the kiosk for maintenance" (a supervisor only)."""


# -------------------------------------------------------------------------------------------------
# What the app says about itself (for tests and for whoever embeds it)


@dataclass
class Failed(Message):
    """Something unexpected went wrong while a page handled the resident's action."""

    error: Exception


P = ParamSpec("P")
Node = TypeVar("Node", bound=MessagePump)


def guarded(handler: Callable[Concatenate[Node, P], object]
            ) -> Callable[Concatenate[Node, P], Coroutine[Any, Any, None]]:
    """A message handler or action whose unexpected errors are posted as `Failed` (which bubbles
    from a page to the app) instead of reaching Textual, which would close the kiosk."""

    @functools.wraps(handler)
    async def guard(node: Node, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            result = handler(node, *args, **kwargs)
            if inspect.isawaitable(result):
                await result
        except Exception as error:
            node.post_message(Failed(error))

    return guard


if TYPE_CHECKING:
    _Node = MessagePump
else:  # a mixin: what it is mixed into is the node (mixing in a Widget would reorder Textual's own classes)
    _Node = object


class Guarded(_Node):
    """A page or widget of the kiosk's own: anything unexpected while it is mounted or handles a key,
    a tap or a resize is posted as `Failed` to the app's failure guard (kiosk/failures.py), never
    left to Textual, which would close the kiosk. `MessagePump.on_event` is Textual's public door
    for every event a node receives."""

    async def on_event(self, event: events.Event) -> None:
        try:
            await super().on_event(event)
        except Exception as error:
            self.post_message(Failed(error))


@dataclass
class Saved(Message):
    """A submission was saved (its reference, canonical)."""

    reference: str


@dataclass
class SessionEnded(Message):
    """Everything the resident chose and typed was forgotten: finish, timeout, error, saved."""

    reason: str
