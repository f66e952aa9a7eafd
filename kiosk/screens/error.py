"""The calm error page: no traceback, no jargon, in the resident's language. The details go to the
staff log; the kiosk goes back to the start by itself after a few seconds."""

from __future__ import annotations

from textual.content import Content

from kiosk import messages
from kiosk.screens.base import OneButtonScreen, actions
from kiosk.widgets.text import Button, Static


class ErrorScreen(OneButtonScreen):
    CAN_GO_BACK = False

    def compose_body(self):
        heading = self._("Sorry, something went wrong")
        self.title = heading
        yield Static(heading, classes="heading speak", markup=False)
        yield Static(self._("Please ask library staff for help."), classes="body-text speak", markup=False)
        yield Static(self._("Anything you had already sent is safe. This kiosk will go back to the start in a few "
                            "seconds."), classes="body-text speak", markup=False)
        yield actions(Button(Content(self._("Start again")), id="continue", classes="continue"))

    def action_continue(self) -> None:
        self.post_message(messages.StartAgain())
