"""Where the kiosk's receipt printer is: `kiosk.printer` read into the one connection it names.

Three forms, as the settings document them:

* `usb://VENDOR:PRODUCT`, the USB ids in hexadecimal (`lsusb` shows them): `usb://04b8:0e15`;
* `serial:///dev/ttyUSB0?baud=9600` (the baud rate is optional, 9600 when left out);
* `tcp://HOST:9100` (the port is optional, 9100, the raw printing port, when left out).

Read once at start-up by the settings check, so a mistyped address is reported with the file and the
key before a resident ever presses "Print my reference".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

DEFAULT_BAUD = 9600
DEFAULT_PORT = 9100
EXPECTED = "usb://VENDOR:PRODUCT (hexadecimal ids), serial:///dev/ttyUSB0?baud=9600 or tcp://HOST:9100"

_USB_IDS = re.compile(r"^([0-9a-fA-F]{4}):([0-9a-fA-F]{4})$")


@dataclass(frozen=True)
class PrinterAddress:
    kind: str  # usb | serial | tcp
    vendor: int = 0
    product: int = 0
    device: str = ""
    baud: int = DEFAULT_BAUD
    host: str = ""
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        """As a log line names it (no secret in any form)."""
        if self.kind == "usb":
            return f"usb://{self.vendor:04x}:{self.product:04x}"
        if self.kind == "serial":
            return f"serial://{self.device}?baud={self.baud}"
        return f"tcp://{self.host}:{self.port}"


def parse_printer(text: str) -> PrinterAddress | None:
    """The printer `text` names, or None when it names none the kiosk can use."""
    try:
        parts = urlsplit(text.strip())
    except ValueError:
        return None
    if parts.scheme == "usb":
        ids = _USB_IDS.match(parts.netloc)
        if ids is None or parts.path not in ("", "/"):
            return None
        return PrinterAddress("usb", vendor=int(ids.group(1), 16), product=int(ids.group(2), 16))
    if parts.scheme == "serial":
        baud = parse_qs(parts.query).get("baud", [str(DEFAULT_BAUD)])[-1]
        if parts.netloc or not parts.path.startswith("/dev/") or not baud.isdigit() or int(baud) <= 0:
            return None
        return PrinterAddress("serial", device=parts.path, baud=int(baud))
    if parts.scheme != "tcp" or not parts.hostname or parts.path not in ("", "/"):
        return None
    try:
        port = parts.port  # a port out of range, or not a number, raises
    except ValueError:
        return None
    return PrinterAddress("tcp", host=parts.hostname, port=port or DEFAULT_PORT)
