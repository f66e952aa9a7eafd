"""Saved: "Your reference is", the reference in large characters, what happens next and when,
and how to keep a record. Finish clears everything."""

from __future__ import annotations

from textual.containers import Vertical

from kiosk.context import kiosk_of
from kiosk.pages import Receipt
from kiosk.screens.base import LastPage
from kiosk.widgets.bigtext import BigText
from kiosk.widgets.text import Static


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
        yield self.finish_button()

    def on_mount(self) -> None:
        super().on_mount()
        # Nothing is focused: a reflexive Enter must not clear the reference before it is noted.
        self.query_one("#body").focus()
