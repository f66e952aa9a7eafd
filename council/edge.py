"""The outermost ASGI layer: the Date header, and the faults a real back office has.

- Every response carries `Date` from the server's clock (injectable, so tests can put the
  council's clock out of step with the client's). Run uvicorn with `date_header=False`, or it
  adds a second Date of its own.
- `latency`: every answer waits that many seconds after the request was handled (so a
  client that gives up first leaves a request the council has saved).
- `fail_rate`: that share of requests is answered 500 or 503 at once, nothing done.
- `drop_after_commit`: that share of successful writes (`POST requests` answered 201, `POST
  servicerequestupdates` answered 200) is committed, then the connection is closed without a
  byte of response: the ambiguous case, where the client cannot know whether the council has
  its request or update. It works the same under every profile (council/profiles.py).

Dropping needs the server's transport. ASGI has no message for "close without answering"
(an exception before `http.response.start` makes uvicorn answer 500), so under uvicorn this
layer closes the transport the `send` callable belongs to and tells uvicorn the client is gone.
Under another server it falls back to starting the response and then raising, which cuts the
connection mid-answer: still a response the client never receives whole.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
from datetime import datetime
from email.utils import format_datetime
from typing import Any, Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from council.db import to_utc
from council.formats import format_of, render_errors

log = logging.getLogger(__name__)

#: The POSTs that write: creating a request, and posting an update to one.
WRITE_PATH = re.compile(r"^/(requests|servicerequestupdates)\.(json|xml)$")


class ConnectionDropped(Exception):
    """Raised (only where the transport cannot be reached) to cut a response mid-way."""


def http_date(moment: datetime) -> str:
    return format_datetime(to_utc(moment), usegmt=True)


def _close_connection(send: Send) -> bool:
    """Close the connection under uvicorn's `send` without a response; False if not uvicorn."""
    cycle: Any = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None or not hasattr(transport, "close"):
        return False
    transport.close()
    if hasattr(cycle, "disconnected"):
        cycle.disconnected = True  # so uvicorn neither answers 500 nor logs a missing response
    return True


class Edge:
    def __init__(self, *, now: Callable[[], datetime], latency: float = 0.0, fail_rate: float = 0.0,
                 drop_after_commit: float = 0.0, rng: random.Random | None = None):
        self.now = now
        self.latency = latency
        self.fail_rate = fail_rate
        self.drop_after_commit = drop_after_commit
        self.rng = rng or random.Random()
        self.dropped = 0  # how many answers were cut; handy in tests and demos

    async def __call__(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        dated = self._dated(send)
        if self.fail_rate > 0 and self.rng.random() < self.fail_rate:
            status = self.rng.choice((500, 503))
            response = render_errors(format_of(scope["path"]), status,
                                     "the back office is unavailable (injected fault); try again later")
            await response(scope, receive, dated)
            return
        writing = scope["method"] == "POST" and WRITE_PATH.match(scope["path"]) is not None
        await app(scope, receive, self._dropping(scope, send, dated) if writing and self.drop_after_commit > 0
                  else dated)

    def _dated(self, send: Send) -> Send:
        """`send` with the server clock's Date on the answer, after the injected latency."""
        async def send_dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                if self.latency > 0:
                    await asyncio.sleep(self.latency)
                headers = [(name, value) for name, value in message.get("headers", [])
                           if name.lower() != b"date"]
                headers.append((b"date", http_date(self.now()).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)
        return send_dated

    def _dropping(self, scope: Scope, send: Send, dated: Send) -> Send:
        """`dated`, except that a share of successful answers is never sent: the connection is
        closed instead, the write already committed."""
        dropped = False

        async def send_or_drop(message: Message) -> None:
            nonlocal dropped
            if dropped:
                return  # the app thinks it is answering; nobody is listening
            if (message["type"] == "http.response.start" and 200 <= message["status"] < 300
                    and self.rng.random() < self.drop_after_commit):
                dropped = True
                self.dropped += 1
                log.info("dropping the connection after committing %s", scope["path"])
                if not _close_connection(send):
                    await dated(message)
                    raise ConnectionDropped("connection dropped after commit (injected fault)")
                return
            await dated(message)
        return send_or_drop
