"""What every webhook request goes through before its endpoint: a size limit, and Twilio's
signature.

`BodyLimit` refuses a body over its cap with 413: unread when its Content-Length says so, and as
soon as a streamed body passes the cap otherwise. `twilio_signed` wraps an endpoint: it reads
the form once (Starlette keeps it on the request for the endpoint) and answers 403 unless
`X-Twilio-Signature` is valid for it, checked with twilio's RequestValidator against the
configured public URL (the URL a request arrives on is wrong behind a TLS-terminating proxy).
Every value of a repeated field is signed, and Starlette's FormData keeps them all.
"""

from __future__ import annotations

import functools
import hmac
import logging
from typing import Awaitable, Callable

from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from twilio.request_validator import RequestValidator, get_signature_algorithm

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]


class BodyLimit:
    """413 for a request body over `max_bytes`, before more of it is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await PlainTextResponse("Request body too large", status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise HTTPException(413, "Request body too large")
            return message

        await self.app(scope, counted, send)


class Signatures:
    """Twilio's signature on a webhook, checked against the configured public base URL."""

    def __init__(self, auth_token: str, public_url: str) -> None:
        self.token = auth_token
        self.public_url = public_url.rstrip("/")
        self.validator = RequestValidator(auth_token)

    def valid(self, request: Request, form: FormData) -> bool:
        signature = request.headers.get("x-twilio-signature", "")
        if not signature or not self.token:
            return False
        query = request.url.query
        url = self.public_url + request.url.path + (f"?{query}" if query else "")
        algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings", ""))
        try:
            # The URL as configured first (one HMAC); then the validator's own check, which also
            # tries the URL with and without its port, as Twilio's signing is inconsistent there.
            if hmac.compare_digest(self.validator.compute_signature(url, form, algorithm), signature):
                return True
            return self.validator.validate(url, form, signature, algorithm)
        except (ValueError, TypeError, UnicodeError):
            return False


def twilio_signed(endpoint: Endpoint) -> Endpoint:
    """The endpoint, answered only for a request Twilio signed (`app.state.signatures`)."""

    @functools.wraps(endpoint)
    async def checked(request: Request) -> Response:
        try:
            form = await request.form()
        except ClientDisconnect:  # a client that went away mid-body
            return Response(status_code=400)
        if not request.app.state.signatures.valid(request, form):
            log.warning("refused a webhook to %s without a valid signature", request.url.path)
            return PlainTextResponse("Forbidden", status_code=403)
        return await endpoint(request)

    return checked
