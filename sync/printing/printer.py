"""A slip as ESC/POS bytes, and those bytes sent to the printer `kiosk.printer` names (python-escpos).

The whole slip is composed first, into python-escpos's in-memory Dummy printer, and sent in one write
once the printer has answered: a printer that is off, missing or out of paper prints nothing at all
rather than half a slip. Each line is printed as text where the printer's code pages hold all its
letters, and as a picture (picture.py) where they do not; the reference, always in plain letters
and digits, is printed as text twice the usual height and width.

Every way a print can fail (no such USB device or no permission for it, a serial port that is not
there, a network printer that refuses, closes or does not answer, no paper) is `PrinterUnavailable`,
which the kiosk turns into a kind message.
"""

from __future__ import annotations

import logging
import textwrap
from typing import Any

from escpos.constants import RT_MASK_NOPAPER, RT_STATUS_PAPER
from escpos.escpos import Escpos
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, Network, Serial, Usb

from sync.printing import PrinterUnavailable, picture
from sync.printing.address import PrinterAddress
from sync.printing.slip import HEADING, REFERENCE, Line, Slip

log = logging.getLogger(__name__)

#: Characters on a line of the printer's usual font on a 58 mm roll (an 80 mm one has room to spare).
COLUMNS = 32
#: Seconds to wait for the printer to connect or take the slip, and for an answer about its paper.
TIMEOUT_SECONDS = 5.0
STATUS_SECONDS = 1.5


def slip_bytes(slip: Slip) -> bytes:
    """The ESC/POS commands that print `slip` and cut the paper."""
    printer = Dummy()
    printer.hw("INIT")
    pending: list[Line] = []
    for line in slip.lines:
        if line.style != REFERENCE and not printable(printer, line.text):
            pending.append(line)
            continue
        _picture(printer, pending, slip)
        pending = []
        _text(printer, line)
    _picture(printer, pending, slip)
    printer.set(normal_textsize=True)
    printer.cut(feed=True)
    return bytes(printer.output)


def printable(printer: Escpos, text: str) -> bool:
    """Whether `text` can be printed as text: every letter in one of the printer's code pages, and
    none of a script whose letters join or move as they are laid out (Hebrew and Arabic onwards:
    a printer's Arabic code page prints letters unjoined and left to right)."""
    encoder = printer.magic.encoder
    return all(ord(char) < 128 or (_unshaped(char) and encoder.find_suitable_encoding(char)) for char in text)


def _unshaped(char: str) -> bool:
    """Latin, Greek or Cyrillic, or punctuation and currency signs."""
    code = ord(char)
    return code < 0x0590 or 0x2010 <= code <= 0x2027 or 0x2030 <= code <= 0x20CF


def _picture(printer: Escpos, lines: list[Line], slip: Slip) -> None:
    """Lines in a script the printer has no characters for, as one picture, centred (it is drawn
    as wide as a 58 mm roll, so the alignment matters only on a wider one)."""
    if lines:
        printer.set(align="center", normal_textsize=True)
        printer.image(picture.draw(lines, slip.language, slip.right_to_left))


def _text(printer: Escpos, line: Line) -> None:
    if line.style == REFERENCE:
        printer.set(align="center", bold=True, double_width=True, double_height=True)
        printer.textln(line.text)
        printer.set(normal_textsize=True, bold=False)
        printer.ln()
        return
    printer.set(align="center", bold=line.style == HEADING, normal_textsize=True)
    if line.style == HEADING:
        printer.ln()
    for part in textwrap.wrap(line.text, COLUMNS) or [""]:
        printer.textln(part)


def send(address: PrinterAddress, data: bytes) -> None:
    """Send a composed slip to the printer at `address`, or raise PrinterUnavailable."""
    printer = _connect(address)
    try:
        printer.open()
        _check_paper(printer, address)
        printer._raw(data)
    except PrinterUnavailable:
        raise
    except (EscposError, OSError, ValueError) as error:
        raise PrinterUnavailable(f"{address}: {type(error).__name__}: {error}") from error
    except Exception as error:  # pyusb's and pyserial's own errors, which only exist with their packages
        if type(error).__module__.split(".")[0] not in ("usb", "serial"):
            raise
        raise PrinterUnavailable(f"{address}: {type(error).__name__}: {error}") from error
    finally:
        _close(printer)
    log.info("printed a reference on %s", address)


def _connect(address: PrinterAddress) -> Escpos:
    """The python-escpos printer for `address`, not yet opened."""
    if address.kind == "usb":
        return Usb(address.vendor, address.product, timeout=int(TIMEOUT_SECONDS * 1000))
    if address.kind == "serial":
        return Serial(address.device, baudrate=address.baud, timeout=STATUS_SECONDS)
    return Network(address.host, address.port, timeout=TIMEOUT_SECONDS)


def _check_paper(printer: Escpos, address: PrinterAddress) -> None:
    """Ask the printer about its paper (DLE EOT 4). A printer that does not answer is given the slip
    anyway (many cannot say); one that says it has none, or a network printer that hangs up, is not."""
    device: Any = printer.device
    if isinstance(printer, Network):
        device.settimeout(STATUS_SECONDS)
    try:
        status = printer.query_status(RT_STATUS_PAPER)
    except (TimeoutError, NotImplementedError):
        return
    except Exception as error:  # a USB printer with nothing to read from times out in pyusb's own words
        if type(error).__module__.split(".")[0] != "usb":
            raise
        return
    finally:
        if isinstance(printer, Network) and printer.device:
            device.settimeout(TIMEOUT_SECONDS)
    if isinstance(printer, Network) and not status:
        raise PrinterUnavailable(f"{address}: the printer closed the connection")
    if status and status[0] & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
        raise PrinterUnavailable(f"{address}: out of paper")


def _close(printer: Escpos) -> None:
    try:
        printer.close()
    except Exception as error:  # closing a device that never opened: nothing to tell the resident
        log.debug("closing the printer: %s", error)
