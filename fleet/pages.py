"""The staff's pages: sign-in, every kiosk, one kiosk's last 24 hours, sign-out.

    GET/POST /fleet/sign-in     a staff name and password (fleet/staff.py); five refused in a row lock it
    POST     /fleet/sign-out    ends the session
    GET      /fleet/            every kiosk, with its flags in words (fleet/overview.py)
    GET      /fleet/kiosks/ID   that kiosk's heartbeats of the last 24 hours

Server-rendered, no scripts: everything works without JavaScript. The session cookie is HttpOnly,
SameSite=Strict, and Secure except over plain http to this machine (a browser keeps no Secure
cookie there); every form carries a CSRF token, checked before anything else: the session's own
once signed in, before that one also set in a cookie of its own (double submit). A page asked
for without a session is a redirect to sign-in; a form without its token is 403.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fleet import heartbeats, staff
from fleet.bodies import TooLarge, read_body
from fleet.overview import figures, overview

if TYPE_CHECKING:
    from fleet.app import Fleet

log = logging.getLogger(__name__)

SESSION_COOKIE = "fleet_session"
CSRF_COOKIE = "fleet_csrf"
MAX_FORM_BYTES = 4 * 1024
SIGN_IN, HOME = "/fleet/sign-in", "/fleet/"
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
           "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                      "frame-ancestors 'none'; base-uri 'none'"}


@cache
def _templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["shown"] = lambda value: "–" if value is None else value
    environment.filters["duration"] = duration
    return environment


def duration(seconds: float | None) -> str:
    """A wait in words: "3 hours 5 minutes", "40 minutes", "none"."""
    if seconds is None:
        return "none"
    minutes = int(seconds // 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
             if n]
    return " ".join(parts[:2]) or "under a minute"


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("errors", {})
    context.setdefault("session", None)
    return HTMLResponse(_templates().get_template(template).render(**context), status_code=status, headers=HEADERS)


def _fleet(request: Request) -> Fleet:
    fleet: Fleet = request.app.state.fleet
    return fleet


def _secure(request: Request) -> bool:
    """Whether cookies must be Secure: always but over plain http to a loopback address."""
    if request.url.scheme == "https":
        return True
    try:
        return not ipaddress.ip_address(request.url.hostname or "").is_loopback
    except ValueError:
        return request.url.hostname != "localhost"


def _cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/fleet", httponly=True, secure=_secure(request),
                        samesite="strict")


def _session(request: Request) -> staff.Session | None:
    fleet = _fleet(request)
    return staff.find(fleet.db, request.cookies.get(SESSION_COOKIE, ""), fleet.clock())


async def _form(request: Request) -> dict[str, str]:
    body = await read_body(request, MAX_FORM_BYTES)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


def forbidden() -> HTMLResponse:
    return render("message.html.j2", 403, title="Form refused",
                  message="This form has expired or did not come from this site. "
                          "Go back, reload the page and try again.")


async def sign_in(request: Request) -> Response:
    if _session(request) is not None:
        return RedirectResponse(HOME, 303)
    if request.method == "GET":
        return _sign_in_page(request, 200)
    try:
        form = await _form(request)
    except (TooLarge, ValueError):
        return render("message.html.j2", 413, title="Form refused", message="That form was too large.")
    if not staff.same(request.cookies.get(CSRF_COOKIE, ""), form.get("csrf_token", "")):
        return forbidden()
    return _signed_in(request, form.get("name", "").strip(), form.get("password", ""))


def _signed_in(request: Request, name: str, password: str) -> Response:
    errors = {}
    if not name:
        errors["name"] = "Enter your staff name"
    if not password:
        errors["password"] = "Enter your password"
    if errors:
        return _sign_in_page(request, 400, name=name, errors=errors)
    fleet = _fleet(request)
    now = fleet.clock()
    try:
        good = staff.check(fleet.db, name, password, now)
    except staff.LockedOut as locked:
        log.warning("fleet: sign-in refused: staff account locked until %s", locked.until)
        return _sign_in_page(request, 429, name=name, errors={
            "password": f"Too many sign-ins were refused: this account is locked until {locked.until[11:16]} UTC"})
    if not good:
        log.warning("fleet: sign-in refused: wrong staff name or password")
        return _sign_in_page(request, 401, name=name, errors={"password": "The staff name or password is wrong"})
    session_id, _ = staff.start(fleet.db, name, now)
    response = RedirectResponse(HOME, 303)
    _cookie(response, request, SESSION_COOKIE, session_id, max_age=int(staff.SESSION_LIFETIME.total_seconds()))
    response.delete_cookie(CSRF_COOKIE, path="/fleet")
    return response


def _sign_in_page(request: Request, status: int, *, name: str = "", errors: dict[str, str] | None = None) -> Response:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render("sign_in.html.j2", status, title="Sign in", csrf=csrf, name=name, errors=errors or {})
    _cookie(response, request, CSRF_COOKIE, csrf)
    return response


async def sign_out(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse(SIGN_IN, 303)
    try:
        form = await _form(request)
    except (TooLarge, ValueError):
        return forbidden()
    if not staff.same(session.csrf, form.get("csrf_token", "")):
        return forbidden()
    staff.end(_fleet(request).db, request.cookies[SESSION_COOKIE])
    response = RedirectResponse(SIGN_IN, 303)
    response.delete_cookie(SESSION_COOKIE, path="/fleet")
    return response


async def fleet_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse(SIGN_IN, 303)
    fleet = _fleet(request)
    kiosks = overview(fleet.db, fleet.settings, fleet.clock())
    return render("fleet.html.j2", title="Kiosks", session=session, kiosks=kiosks,
                  flagged=sum(1 for kiosk in kiosks if kiosk["flags"]))


async def kiosk_page(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse(SIGN_IN, 303)
    fleet = _fleet(request)
    now = fleet.clock()
    device_id = request.path_params["device_id"]
    found = [kiosk for kiosk in overview(fleet.db, fleet.settings, now) if kiosk["device_id"] == device_id]
    if not found:
        return render("message.html.j2", 404, title="No such kiosk", session=session,
                      message="There is no kiosk with that device id.")
    beats = [{"received_at": received_at, "clock": _clock(skew), **figures(body)}
             for received_at, skew, body in heartbeats.since(fleet.db, device_id, now - timedelta(hours=24))]
    return render("kiosk.html.j2", title=f"Kiosk {device_id}", session=session, kiosk=found[0], beats=beats)


def _clock(skew: float | None) -> str:
    if skew is None:
        return "–"
    return f"{abs(skew):.0f} seconds {'ahead' if skew > 0 else 'behind'}" if round(skew) else "right"


ROUTES = [Route(SIGN_IN, sign_in, methods=["GET", "POST"]), Route("/fleet/sign-out", sign_out, methods=["POST"]),
          Route(HOME, fleet_page, methods=["GET"]), Route("/fleet/kiosks/{device_id}", kiosk_page, methods=["GET"])]
