"""The kiosk's HTTP client of the fleet service, at a URL sync/fleet/urls.py allows (https, or
plain http to this machine only). Each answer's Date header tells how far the kiosk's clock is
from the service's.

Only the service's own answer counts: a 2xx carrying its JSON (and what the caller expects of it),
or a refusal with its JSON `error`. Anything else (a redirect to a sign-in proxy's page, a captive
portal's 200 page on a library's wifi, a proxy's error page) is not the service speaking: it is a
passing failure, never an acknowledgement and never a refusal for good, so nothing is lost.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import httpx

from sync.fleet.formats import DEVICE_HEADER, ENROL_PATH
from sync.fleet.urls import service_url

TIMEOUT_SECONDS = 15.0
#: The most of an answer read; the service's are a few hundred bytes.
MAX_ANSWER_BYTES = 64 * 1024


class FleetError(Exception):
    """The service could not be reached, or did not take it: `status` is the HTTP status of the
    service's own refusal, None when unreached or when what answered was not the service."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    #: The service's clock less ours (seconds), from its Date header; None without one.
    clock_offset_seconds: float | None


class FleetClient:
    def __init__(self, url: str, *, transport: httpx.AsyncBaseTransport | None = None,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = service_url(url)
        self.http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def enrol(self, device_id: str, code: str) -> str:
        """Exchange a one-time enrolment code for the kiosk's token."""
        answer = await self.post(ENROL_PATH, {"device_id": device_id, "code": code})
        token = answer.body.get("token")
        if not isinstance(token, str) or not token:
            raise FleetError("the fleet service's answer had no token")
        return token

    async def post(self, path: str, body: dict[str, Any], *, device_id: str | None = None,
                   token: str | None = None, expect: Callable[[dict[str, Any]], bool] = lambda body: True) -> Answer:
        """The service's 2xx answer, whose JSON `expect` (what the caller knows the service says)
        accepts; FleetError otherwise."""
        headers = {DEVICE_HEADER: device_id, "Authorization": f"Bearer {token}"} if token and device_id else {}
        started = time.time()
        try:
            response = await self.http.post(self.url + path, json=body, headers=headers)
        except httpx.HTTPError as error:
            raise FleetError(unreached(self.url, error)) from None
        offset = _offset(response.headers.get("date"), (started + time.time()) / 2)
        if response.is_redirect:
            where = response.headers.get("location", "")[:200] or "nowhere (no Location)"
            raise FleetError(f"the fleet service's address answered with a redirect ({response.status_code}) to "
                             f"{where}: is a sign-in proxy in front of {path}?")
        answer = _json(response.content[:MAX_ANSWER_BYTES])
        if answer is not None and response.is_success and expect(answer):
            return Answer(answer, offset)
        if answer is not None and response.status_code >= 400 and isinstance(answer.get("error"), str):
            raise FleetError(f"the fleet service refused it ({response.status_code}): {answer['error'][:200]}",
                             response.status_code)
        kind = ("JSON the service would not send" if answer is not None
                else response.headers.get("content-type", "no content type").split(";")[0][:60])
        raise FleetError(f"not the fleet service's answer: {path} answered {response.status_code} ({kind}); is "
                         f"something else (a captive portal, a proxy) answering at {self.url}?")


def unreached(url: str, error: httpx.HTTPError) -> str:
    """Why the service at `url` could not be reached, in words an operator can act on: its name not
    found, nothing listening, a certificate not trusted, no https there, or no answer in time."""
    causes = list(_causes(error))
    host = urlsplit(url).hostname or url
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes):
        why = ("its certificate is not one this kiosk trusts: if the council signs its own certificates, install "
               "its certificate authority on the kiosk (docs/fleet.md)")
    elif any(isinstance(cause, ssl.SSLError) for cause in causes):
        why = "what answers there does not speak https (is the port the one for plain http?)"
    elif any(isinstance(cause, socket.gaierror) for cause in causes):
        why = f"its name, {host}, could not be found (check the address, and the library's network)"
    elif any(isinstance(cause, ConnectionRefusedError) for cause in causes):
        why = "nothing answers there (connection refused): is the service running, and is the port right?"
    elif isinstance(error, httpx.TimeoutException):
        why = f"it did not answer within {TIMEOUT_SECONDS:.0f} seconds"
    else:
        why = type(error).__name__
    return f"the fleet service at {url} could not be reached: {why}"


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error and what it was raised from (httpx wraps httpcore, which wraps the socket's)."""
    seen: BaseException | None = error
    for _ in range(10):
        if seen is None:
            return
        yield seen
        seen = seen.__cause__ or seen.__context__


def _json(content: bytes) -> dict[str, Any] | None:
    """The answer's JSON object, or None for anything else."""
    try:
        found = json.loads(content)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _offset(date: str | None, local: float) -> float | None:
    if not date:
        return None
    try:
        return parsedate_to_datetime(date).timestamp() - local
    except (TypeError, ValueError):
        return None
