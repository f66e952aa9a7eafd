"""What every webhook request goes through before its endpoint: a size limit, and Twilio's
signature.

`BodyLimit` refuses a body over its cap with 413: unread when its Content-Length says so, and as
soon as a streamed body passes the cap otherwise. `twilio_signed` wraps an endpoint: it reads
the form once (`webhook_form`, handed to the endpoint with the request) and answers 403 unless
`X-Twilio-Signature` is valid for it, checked with twilio's RequestValidator against the
configured public URL (the URL a request arrives on is wrong behind a TLS-terminating proxy).
Every value of a repeated field is signed, and Starlette's FormData keeps them all.
"""

from __future__ import annotations

import functools
import hmac
import logging
from typing import Awaitable, Callable
from urllib.parse import unquote

from starlette.datastructures import FormData, Headers, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from twilio.request_validator import RequestValidator, get_signature_algorithm

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Awaitable[Response]]
SignedEndpoint = Callable[[Request, FormData], Awaitable[Response]]


class BodyLimit:
    """413 for a request body over `max_bytes`, before more of it is read.

    A body whose Content-Length is within the cap needs no counting: the server holds a body to
    the length it declares (what follows is the next request). A streamed one is counted."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit():
            if int(declared) > self.max_bytes:
                await PlainTextResponse("Request body too large", status_code=413)(scope, receive, send)
            else:
                await self.app(scope, receive, send)
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


class _Fields(dict[str, list[str]]):
    """Every value of each field, grouped in one pass: twilio's validator asks a MultiDict for
    `getall` once a field (FormData has no `getall`, and its `getlist` scans every field)."""

    getall = dict.__getitem__  # a field's values, looked up without a Python call of its own


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
        fields = _Fields()
        for name, value in form.multi_items():
            fields.setdefault(name, []).append(str(value))
        # The path under the app, as the public URL (which holds any prefix a proxy adds) ends where
        # it begins: ASGI servers put a --root-path into the scope's path too.
        path, root = request.scope["path"], request.scope.get("root_path", "")
        path = path[len(root):] if root and path.startswith(root) else path
        query = request.scope["query_string"].decode("latin-1")
        url = self.public_url + path + (f"?{query}" if query else "")
        algorithm = get_signature_algorithm(request.headers.get("x-twilio-webhooks-signature-settings", ""))
        try:
            # The URL as configured first (one HMAC); then the validator's own check, which also
            # tries the URL with and without its port, as Twilio's signing is inconsistent there.
            if hmac.compare_digest(self.validator.compute_signature(url, fields, algorithm), signature):
                return True
            return self.validator.validate(url, fields, signature, algorithm)
        except (ValueError, TypeError, UnicodeError):
            return False


URLENCODED = "application/x-www-form-urlencoded"


def _unquote(part: str) -> str:
    """One name or value, unquoted as parse_qsl does it: "+" a space, %XX a byte of UTF-8."""
    if "%" in part or "+" in part:
        return unquote(part.replace("+", " "), errors="replace")
    return part


def form_pairs(body: str) -> list[tuple[str, str]]:
    """`parse_qsl(body, keep_blank_values=True)` (a test holds the two equal for any text).

    Twilio posts a dozen fields with every message, most with nothing to unquote; parse_qsl
    unquotes every name and value anyway, and was 8% of the webhook process's time in a profile
    under bench/bench_sms.py's load, twice what this takes."""
    pairs = []
    for field in body.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((_unquote(name), _unquote(value)))
    return pairs


async def webhook_form(request: Request) -> FormData:
    """The webhook's form, as Starlette's `request.form()` gives it (a test holds the two equal).

    Twilio always posts urlencoded; that is read by `form_pairs`, which makes the same FormData
    at a small part of the cost of `request.form()`'s python-multipart parser: that parser was the
    whole of the webhook's slow-down when it came in (bench/bench_sms.py). Any other body goes to
    `request.form()` itself."""
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() != URLENCODED:
        return await request.form()
    body = (await request.body()).decode("latin-1")  # as Starlette decodes a urlencoded body
    fields: list[tuple[str, str | UploadFile]] = list(form_pairs(body))
    return FormData(fields)


def twilio_signed(endpoint: SignedEndpoint) -> Endpoint:
    """A Starlette endpoint that answers only a request Twilio signed (`app.state.signatures`),
    calling `endpoint` with the request and its form, read once."""

    @functools.wraps(endpoint)
    async def checked(request: Request) -> Response:
        try:
            form = await webhook_form(request)
        except ClientDisconnect:  # a client that went away mid-body
            return Response(status_code=400)
        if not request.app.state.signatures.valid(request, form):
            log.warning("refused a webhook to %s without a valid signature", request.url.path)
            return PlainTextResponse("Forbidden", status_code=403)
        return await endpoint(request, form)

    return checked
