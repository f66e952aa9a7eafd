"""Never a traceback on a public screen: an unexpected error shows a calm page in the resident's
language, logs the traceback for staff, and starts again, leaving saved submissions untouched.

Textual 8 has no public hook for an unhandled exception (its `App._handle_exception` is private
and exits the app), so the kiosk catches at the public doors a resident's action comes through:
`App.run_action` (every key binding and every `action=` link), the message handlers that do the
work (wrapped with `messages.guarded`), each page's `compose`, and the `on_event` of every page and
input widget of the kiosk's own (`messages.Guarded`: drawing, mounting, keys and taps). Each turns
the exception into a `Failed` message, which this part of the app handles. Too many failures in a
minute stop the process, so that systemd starts a fresh one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from textual import on
from textual.app import App

from kiosk import messages
from kiosk.inactivity import Inactivity
from kiosk.screens.error import ErrorScreen

if TYPE_CHECKING:
    from textual.screen import Screen

log = logging.getLogger(__name__)

#: More unexpected errors than this within a minute: stop, and let systemd start a fresh process.
MAX_FAILURES = 5
#: The window MAX_FAILURES is counted over, in seconds.
FAILURE_WINDOW = 60


class FailureGuard(App[None]):
    """The part of the kiosk app that turns an unexpected error into the calm error page."""

    monotonic: Callable[[], float]
    inactivity: Inactivity
    failures: list[float]

    if TYPE_CHECKING:
        async def restart(self, reason: str, *, keep_language: bool = False, then: Screen[Any] | None = None
                          ) -> None: ...

        def leave(self, return_code: int = 0) -> None: ...

    async def run_action(self, action: Any, default_namespace: Any = None, namespaces: Any = None) -> bool:
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as error:
            self.fail(error)
            return True

    @on(messages.Failed)
    def failed(self, message: messages.Failed) -> None:
        self.fail(message.error)

    def fail(self, error: BaseException) -> None:
        log.error("unexpected error on the kiosk; the resident sees the error page and saved requests are "
                  "untouched", exc_info=(type(error), error, error.__traceback__))
        now = self.monotonic()
        self.failures = [moment for moment in self.failures if now - moment < FAILURE_WINDOW] + [now]
        if len(self.failures) > MAX_FAILURES:
            log.critical("%d unexpected errors in a minute: stopping so that a fresh kiosk starts", len(self.failures))
            self.leave(return_code=1)
            return
        self.call_later(self.show_error)

    @messages.guarded
    async def show_error(self) -> None:
        await self.restart("error", keep_language=True, then=ErrorScreen())
        self.inactivity.error_shown()
