"""Twilio's and GOV.UK Notify's APIs, faked at the HTTP boundary only.

Each is a small Starlette app served on loopback; the real twilio and notifications-python-client
libraries talk to it over HTTP. They check what the real services check (Twilio: HTTP Basic auth
with the account SID and auth token; Notify: a HS256 JWT whose `iss` is the service id from the
API key) and answer with the real services' JSON shapes and error codes. A test scripts the next
answers with `fail(...)`; everything they were asked is kept in `requests`.
"""

from __future__ import annotations

import base64
import threading
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

NOTIFY_KEY = "assist_test-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
NOTIFY_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"


class ScriptedAPI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self._script: list[tuple[int, Any]] = []
        self._lock = threading.Lock()

    def fail(self, *answers: tuple[int, Any]) -> None:
        """The next answers, in order: (status, JSON body)."""
        with self._lock:
            self._script.extend(answers)

    def _next(self) -> tuple[int, Any] | None:
        with self._lock:
            return self._script.pop(0) if self._script else None


# ---------------------------------------------------------------------------------------------
# Twilio

TWILIO_ERRORS = {
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    21211: (400, "The 'To' number {to} is not a valid phone number."),
    20429: (429, "Too Many Requests"),
    20003: (401, "Authenticate"),
    20500: (500, "An internal server error has occurred"),
    21606: (400, "The 'From' phone number provided is not a valid message-capable Twilio phone number."),
}


def twilio_error(code: int, to: str = "+447911123456") -> tuple[int, dict[str, Any]]:
    status, message = TWILIO_ERRORS[code]
    return status, {"code": code, "message": message.format(to=to), "more_info": f"https://www.twilio.com/docs/errors/{code}",
                    "status": status}


class FakeTwilio(ScriptedAPI):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid, self.auth_token = account_sid, auth_token
        self.app = Starlette(routes=[Route("/2010-04-01/Accounts/{account}/Messages.json", self.create,
                                           methods=["POST"])])

    async def create(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        self.requests.append({"account": request.path_params["account"],
                              "auth_ok": request.headers.get("authorization") == expected, **form})
        if request.headers.get("authorization") != expected or request.path_params["account"] != self.account_sid:
            status, body = twilio_error(20003)
            return JSONResponse(body, status_code=status)
        scripted = self._next()
        if scripted is not None:
            status, body = scripted
            return JSONResponse(body, status_code=status)
        sid = "SM" + uuid.uuid4().hex
        now = datetime.now(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")
        account = self.account_sid
        return JSONResponse({
            "account_sid": account, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "num_media": "0", "num_segments": "1",
            "price": None, "price_unit": "GBP", "sid": sid,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account}/Messages/{sid}/Media.json"},
            "to": form.get("To"), "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }, status_code=201)


# ---------------------------------------------------------------------------------------------
# GOV.UK Notify

def notify_error(status: int, error: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"errors": [{"error": error, "message": message}], "status_code": status}


class FakeNotify(ScriptedAPI):
    def __init__(self, api_key: str = NOTIFY_KEY) -> None:
        super().__init__()
        self.service_id, self.secret = api_key[-73:-37], api_key[-36:]
        #: Each notification's status, as Notify would report it; tests move them on.
        self.statuses: dict[str, str] = {}
        self.status_requests: list[str] = []
        self.app = Starlette(routes=[Route("/v2/notifications/sms", self.send_sms, methods=["POST"]),
                                     Route("/v2/notifications/{id}", self.notification, methods=["GET"])])

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        try:
            claims = jwt.decode(header.removeprefix("Bearer "), self.secret, algorithms=["HS256"])
            return claims.get("iss") == self.service_id
        except jwt.PyJWTError:
            return False

    def _refused_or_scripted(self, authorised: bool) -> Response | None:
        """Notify's 403 for a bad key, or the next scripted answer; None to answer normally."""
        if not authorised:
            status, error = notify_error(403, "AuthError", "Invalid token: API key not found")
            return JSONResponse(error, status_code=status)
        scripted = self._next()
        if scripted is not None:
            status, answer = scripted
            return JSONResponse(answer, status_code=status)
        return None

    async def notification(self, request: Request) -> Response:
        """GET /v2/notifications/{id}: the notification with its status (abridged)."""
        notification = request.path_params["id"]
        self.status_requests.append(notification)
        if (refused := self._refused_or_scripted(self._authorised(request))) is not None:
            return refused
        if notification not in self.statuses:
            status, error = notify_error(404, "NoResultFound", "No result found")
            return JSONResponse(error, status_code=status)
        return JSONResponse({"id": notification, "type": "sms", "status": self.statuses[notification],
                             "phone_number": "07700900000", "reference": None})

    async def send_sms(self, request: Request) -> Response:
        authorised = self._authorised(request)
        body = await request.json()
        self.requests.append({"authorised": authorised, **body})
        if (refused := self._refused_or_scripted(authorised)) is not None:
            return refused
        notification = str(uuid.uuid4())
        self.statuses[notification] = "sending"
        return JSONResponse({
            "id": notification, "reference": body.get("reference"),
            "content": {"body": body.get("personalisation", {}).get("body", ""), "from_number": "BRACKENFORD"},
            "uri": f"https://api.notifications.service.gov.uk/v2/notifications/{notification}",
            "template": {"id": body.get("template_id"), "version": 1,
                         "uri": f"https://api.notifications.service.gov.uk/services/{self.service_id}/templates/{body.get('template_id')}"},
        }, status_code=201)
