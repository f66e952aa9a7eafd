"""Single sign-on: the council's proxy in front of the fleet page says who is signed in.

With `fleet.sso_header` set (such as `X-Remote-User`), a request whose connection comes from one
of `fleet.trusted_proxies` and carries that header is from the member of staff it names, signed
in by the council's own sign-in: the proxy sets the header itself and strips any copy a browser
sent. From any other address the header is ignored and logged (with the address, not the value):
the service's own sign-in applies. The name needs no staff account here (`assist fleet
add-staff`): the council's sign-in, in front, decides who may in (a group in its directory), as
it does for its other services, and a second list kept here would drift from it. The kiosks' API
and `/metrics` never look at the header: they keep their own tokens.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

from fleet import proxies
from fleet.staff import NAME_CHARS
from sync.config import Settings

log = logging.getLogger(__name__)


class Refused(Exception):
    """A header from a trusted proxy naming no one this service can show: why, in words."""


def signed_in_name(request: Request, settings: Settings) -> str | None:
    """The name the council's sign-in gave this request, None when single sign-on does not apply
    (it is off, or the header is absent or untrusted), or Refused for a value that names no one."""
    header = settings.fleet.sso_header
    if not header or header not in request.headers:
        return None
    peer = proxies.peer(request)
    if not proxies.trusted(peer, proxies.networks(settings.fleet.trusted_proxies)):
        log.warning("fleet: ignored the single sign-on header %s from %s, not one of fleet.trusted_proxies",
                    header, peer or "an unknown address")
        return None
    values = request.headers.getlist(header)
    if len(values) != 1:
        raise Refused("the name was sent more than once")
    return _name(values[0])


def _name(value: str) -> str:
    """The header's value as a name: UTF-8 (the raw bytes, which Starlette reads as Latin-1), trimmed,
    1 to NAME_CHARS printable characters."""
    try:
        name = value.encode("latin-1").decode("utf-8").strip()
    except UnicodeError:
        raise Refused("the name is not UTF-8 text") from None
    if not name:
        raise Refused("the name is empty")
    if len(name) > NAME_CHARS:
        raise Refused(f"the name is longer than {NAME_CHARS} characters")
    if not name.isprintable():
        raise Refused("the name holds control characters")
    return name
