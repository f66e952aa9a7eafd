"""Where a kiosk may send its token: https, or plain http to this machine only.

A token crossing a library's network in clear could be copied and used to speak for the kiosk, so
plain http is refused to anywhere but loopback (where the demo and the tests run the service). A
URL carrying a user name or password is refused too: it is echoed in errors and kept in the store,
and the service knows a kiosk by its enrolment code and token alone. Light on purpose: settings
are checked with it when they are read (`fleet.url`), on every command, a kiosk's start included.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def service_url(url: str) -> str:
    """The service's base URL without its trailing slash, or ValueError saying why it is refused."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        parts.port  # a port out of range raises
    except ValueError:
        raise ValueError(f"{url!r} is not a URL; give one like https://fleet.council.example") from None
    if "@" in parts.netloc:
        raise ValueError("put no user name or password in the fleet service's URL: the service knows a kiosk by its "
                         "enrolment code and token alone")
    if parts.scheme == "https" and host:
        return url.strip().rstrip("/")
    if parts.scheme == "http" and _loopback(host):
        return url.strip().rstrip("/")
    if parts.scheme == "http":
        raise ValueError(f"{url} is plain http: the kiosk's token would cross the network in clear; "
                         "use https (plain http is only for this machine, 127.0.0.1)")
    raise ValueError(f"{url!r} is not an https URL; give one like https://fleet.council.example")
