"""The staff's pages: sign-in, every kiosk, one kiosk's last 24 hours, sign-out.

    GET/POST /fleet/sign-in     a staff name and password (fleet/staff.py); five refused in a row lock it
    POST     /fleet/sign-out    ends the session
    GET      /fleet/            every kiosk, with its flags in words (fleet/overview.py)
    GET      /fleet/kiosks/ID   that kiosk's heartbeats of the last 24 hours

Server-rendered, no scripts: everything works without JavaScript. The session cookie is HttpOnly,
SameSite=Strict, and Secure except over plain http to this machine (a browser keeps no Secure
cookie there); every form carries a CSRF token, checked before anything else: the session's own
once signed in, before that one also set in a cookie of its own (double submit). A page asked
for without a session is a redirect to sign-in; a form without its token is 403. Behind the
council's single sign-on (fleet/sso.py) the proxy's header says who it is, and a session of its
own (in the store, so any process and a restart honour it) carries the CSRF token.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable
from urllib.parse import parse_qs

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from fleet import heartbeats, proxies, sso, staff
from fleet.bodies import TooLarge, read_body
from fleet.overview import figures, overview, when

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
    environment.filters["when"] = when
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


@dataclass(frozen=True)
class Signed:
    """Who a request is from: its session, and the id of one single sign-on just started (for the cookie)."""

    session: staff.Session
    new_id: str = ""


def _signed_in(request: Request) -> Signed | None:
    """The session a request is from: the council's single sign-on's when its trusted proxy names
    someone (one started for that person if the cookie holds none), else the cookie's own.
    sso.Refused when the proxy's header names no one."""
    fleet = _fleet(request)
    now, cookie = fleet.clock(), request.cookies.get(SESSION_COOKIE, "")
    name = sso.signed_in_name(request, fleet.settings)
    if name is None:
        session = staff.find(fleet.db, cookie, now)
        return None if session is None else Signed(session)
    session = staff.find(fleet.db, cookie, now, sso=True)
    if session is not None and session.staff == name:
        return Signed(session)
    new_id, session = staff.start(fleet.db, name, now, sso=True)
    log.info("fleet: staff %s signed in through the council's sign-in", name)
    return Signed(session, new_id)


def _kept(response: Response, request: Request, signed: Signed) -> Response:
    """The response, with the cookie of a session single sign-on just started."""
    if signed.new_id:
        _cookie(response, request, SESSION_COOKIE, signed.new_id, max_age=int(staff.SESSION_LIFETIME.total_seconds()))
    return response


def _sso_refused(request: Request, refused: sso.Refused) -> Response:
    log.warning("fleet: refused the single sign-on header from %s: %s", proxies.peer(request), refused)
    return render("message.html.j2", 400, title="You cannot be signed in",
                  message=f"The council's sign-in did not say who you are in a way the fleet page can use ({refused}). "
                          "Ask the council's IT service desk to check the single sign-on in front of the fleet page.")


def for_staff(handler: Callable[[Request, staff.Session], Awaitable[Response]]) -> Callable[[Request], Any]:
    """A page only staff may open: a redirect to sign-in without a session, a kind refusal for a
    single sign-on header that names no one; the handler is given the session."""

    async def endpoint(request: Request) -> Response:
        try:
            signed = _signed_in(request)
        except sso.Refused as refused:
            return _sso_refused(request, refused)
        if signed is None:
            return RedirectResponse(SIGN_IN, 303)
        return _kept(await handler(request, signed.session), request, signed)

    return endpoint


async def _form(request: Request) -> dict[str, str]:
    body = await read_body(request, MAX_FORM_BYTES)
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True, max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


def forbidden() -> HTMLResponse:
    return render("message.html.j2", 403, title="Form refused",
                  message="This form has expired or did not come from this site. "
                          "Go back, reload the page and try again.")


async def sign_in(request: Request) -> Response:
    try:
        signed = _signed_in(request)
    except sso.Refused as refused:
        return _sso_refused(request, refused)
    if signed is not None:
        return _kept(RedirectResponse(HOME, 303), request, signed)
    if request.method == "GET":
        return _sign_in_page(request, 200)
    try:
        form = await _form(request)
    except (TooLarge, ValueError):
        return render("message.html.j2", 413, title="Form refused", message="That form was too large.")
    if not staff.same(request.cookies.get(CSRF_COOKIE, ""), form.get("csrf_token", "")):
        return forbidden()
    return await _password_checked(request, form.get("name", "").strip(), form.get("password", ""))


async def _password_checked(request: Request, name: str, password: str) -> Response:
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
        good = await staff.check(fleet.db, name, password, now)
    except staff.LockedOut as locked:
        log.warning("fleet: sign-in refused: staff account %s locked until %s", name, locked.until)
        return _sign_in_page(request, 429, name=name, errors={
            "password": f"Too many sign-ins were refused: this account is locked until {locked.until[11:16]} UTC"})
    if not good:
        log.warning("fleet: sign-in refused: wrong staff name or password")
        return _sign_in_page(request, 401, name=name, errors={"password": "The staff name or password is wrong"})
    log.info("fleet: staff %s signed in", name)  # an account's name: never what was typed for one that is not
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


@for_staff
async def sign_out(request: Request, session: staff.Session) -> Response:
    try:
        form = await _form(request)
    except (TooLarge, ValueError):
        return forbidden()
    if not staff.same(session.csrf, form.get("csrf_token", "")):
        return forbidden()
    staff.end(_fleet(request).db, request.cookies.get(SESSION_COOKIE, ""), sso=session.sso)
    if session.sso:
        response: Response = render(
            "message.html.j2", title="Signed out of the fleet page",
            message="You were signed in by the council's sign-in, which still lets you in: to sign out, sign out of "
                    "the council's sign-in (as for the council's other services), then close the browser.")
    else:
        response = RedirectResponse(SIGN_IN, 303)
    response.delete_cookie(SESSION_COOKIE, path="/fleet")
    return response


@for_staff
async def fleet_page(request: Request, session: staff.Session) -> Response:
    fleet = _fleet(request)
    kiosks = overview(fleet.db, fleet.settings, fleet.clock())
    return render("fleet.html.j2", title="Kiosks", session=session, kiosks=kiosks,
                  flagged=sum(1 for kiosk in kiosks if kiosk["flags"]))


@for_staff
async def kiosk_page(request: Request, session: staff.Session) -> Response:
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
