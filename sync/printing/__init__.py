"""The printed reference: a slip from the kiosk's receipt printer for a resident with no phone to
photograph their reference (`kiosk.printer`; docs/kiosk.md says how to connect one).

* address.py reads `kiosk.printer` (USB, serial or network);
* slip.py writes the slip's words in the resident's language (nothing personal);
* picture.py draws the lines a printer has no characters for (Arabic, Urdu, Bengali, Gurmukhi);
* printer.py turns the slip into ESC/POS bytes and sends them (python-escpos, the `[printer]` extra).

This is the only code on a kiosk that talks to a device beyond the store, and it does so only when a
resident asks: the kiosk calls `print_reference` from a worker thread, so its screen never waits.
Pillow and python-escpos are loaded then, not when the kiosk starts; importing this package (as the
settings check does, for `address`) loads nothing more.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sync.printing.slip import Saved
    from sync.settings import Settings

__all__ = ["PrinterUnavailable", "print_reference"]

log = logging.getLogger(__name__)


class PrinterUnavailable(Exception):
    """The slip could not be printed; the message says why, for the log (never the slip's words)."""


def print_reference(settings: Settings, saved: Saved) -> None:
    """Print the slip for `saved` on the kiosk's printer, or raise PrinterUnavailable."""
    from sync.printing.address import parse_printer
    from sync.printing.slip import compose

    address = parse_printer(settings.kiosk.printer)
    if address is None:
        raise PrinterUnavailable("kiosk.printer names no printer")
    try:
        from sync.printing import picture, printer
    except ImportError as error:
        raise PrinterUnavailable(f"{error.name} is not installed: install the [printer] extra") from error
    language = saved.language
    if not picture.can_draw(language):
        log.warning("Pillow has no Raqm layout (Debian's libfribidi0): printing %s in English", saved.reference)
        language = "en"
    slip = compose(settings, dataclasses.replace(saved, language=language))
    printer.send(address, printer.slip_bytes(slip))
