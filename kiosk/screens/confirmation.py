"""Saved: "Your reference is", the reference in large characters, what happens next and when,
and how to keep a record (with a receipt printer, `kiosk.printer`, a printed slip). Finish clears
everything."""

from __future__ import annotations

import logging
from datetime import datetime

from textual.containers import Vertical
from textual.content import Content

from kiosk.context import kiosk_of
from kiosk.i18n import LOCAL_TIME
from kiosk.pages import Receipt
from kiosk.screens.base import LastPage, actions
from kiosk.widgets.bigtext import BigText
from kiosk.widgets.text import Button, Static
from locales import N_
from sync.printing import PrinterUnavailable, print_reference
from sync.printing.slip import Saved

log = logging.getLogger(__name__)

PRINTING = N_("Printing your reference…")
PRINTED = N_("Your reference is printed. Please take it from the printer.")
NOT_PRINTED = N_("Sorry, the printer is not working just now. Your reference is still on the screen: please write "
                 "it down, or ask library staff for help.")


class ConfirmationScreen(LastPage):
    CAN_GO_BACK = False
    CAN_CONTINUE = False

    def __init__(self, receipt: Receipt) -> None:
        super().__init__()
        self.receipt = receipt

    def compose_body(self):
        receipt = self.receipt
        settings = kiosk_of(self).settings
        report = receipt.journey == "report"
        with Vertical(id="panel"):
            heading = self._("Your report is saved") if report else self._("Your request is saved")
            self.title = heading
            yield Static(heading, classes="heading speak", markup=False)
            yield Static(self._("Your reference is"), classes="speak", markup=False)
            yield BigText(receipt.reference, id="reference")
            yield Static(receipt.reference, id="reference-text", classes="speak", markup=False)
        yield Static(self._("What happens next"), classes="subheading speak", markup=False)
        yield Static(self._("This kiosk will send it to {council} as soon as it has a connection, usually within "
                            "a few minutes. You do not need to wait here.").format(council=settings.council.name),
                     classes="body-text next-steps speak", markup=False)
        if receipt.texted_to:
            yield Static(self._("We will text your reference to the number ending {digits}, and text you again "
                                "when the council updates it.").format(digits=receipt.texted_to),
                         classes="body-text next-steps speak", markup=False)
        yield Static(self._("Write your reference down or take a photo of it. You can use it to check on this at "
                            "the kiosk, or by phoning {phone}.").format(phone=self.council_phone),
                     classes="body-text next-steps speak", markup=False)
        if settings.kiosk.printer:
            yield actions(Button(Content(self._("Print my reference")), id="print"))
            yield Static("", id="print-message", classes="body-text speak", markup=False)
        yield self.finish_button()

    def on_mount(self) -> None:
        super().on_mount()
        # Nothing is focused: a reflexive Enter must not clear the reference before it is noted.
        self.query_one("#body").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "print":
            super().on_button_pressed(event)
            return
        event.stop()
        event.button.disabled = True
        self.query_one("#print-message", Static).update(self._(PRINTING))
        receipt = self.receipt
        saved = Saved(receipt.reference, receipt.journey, receipt.service_name, receipt.street, self.t.code,
                      datetime.now(LOCAL_TIME).date())
        self.run_worker(lambda: self._print(saved), thread=True, exclusive=True, exit_on_error=False)

    def _print(self, saved: Saved) -> None:
        """In a worker thread: the printer may take seconds to answer, or never, and the page must not wait."""
        try:
            print_reference(kiosk_of(self).settings, saved)
        except PrinterUnavailable as error:
            log.warning("could not print %s: %s", saved.reference, error)
            self.app.call_from_thread(self._printed, NOT_PRINTED)
        except Exception:  # whatever went wrong, the resident still has their reference on the screen
            log.exception("printing %s failed", saved.reference)
            self.app.call_from_thread(self._printed, NOT_PRINTED)
        else:
            self.app.call_from_thread(self._printed, PRINTED)

    def _printed(self, message: str) -> None:
        """The outcome, said where the button is; the button works again (another copy, or a second try)."""
        if not self.is_attached:  # the resident finished, or the kiosk timed out, while it printed
            return
        self.query_one("#print-message", Static).update(self._(message))
        self.query_one("#print", Button).disabled = False
