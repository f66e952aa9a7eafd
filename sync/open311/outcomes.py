"""How a call to a council's back office can end, as the worker acts on it.

Every failure says whether the request may have reached the council (`maybe_sent`): that is what
decides between resending and looking for it first (../shared/reference/open311.md).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Created:
    """The council has the request: its id now, or a token to ask for the id later."""

    service_request_id: str | None
    token: str | None
    notice: str | None = None


@dataclass(frozen=True)
class Refused:
    """A permanent refusal of this request (HTTP 400 and friends): a person must look at it."""

    message: str
    status: int


class Unauthorised(Exception):
    """The back office refused our API key (401/403): nothing will go until that is fixed."""


class Transient(Exception):
    """A passing failure: try again later. `maybe_sent` when the request may have arrived."""

    def __init__(self, reason: str, *, maybe_sent: bool, reachable: bool = True, retry_after: float | None = None,
                 server_error: bool = False):
        super().__init__(reason)
        self.reason, self.maybe_sent, self.reachable, self.retry_after = reason, maybe_sent, reachable, retry_after
        self.server_error = server_error  # the server answered 5xx


class NotFound(Exception):
    """A 404: an unknown resource, or an endpoint this server does not have."""


class Rejected(Transient):
    """A 400 (or 422) to a GET: the server answered, and refused the question as asked (a closed
    query schema refusing `page`, say). Transient to callers that only retry."""

    def __init__(self, reason: str, status: int):
        super().__init__(reason, maybe_sent=False)
        self.status = status


class Unsearchable(Exception):
    """The server answered, but its search cannot prove a request absent: the search endpoint
    is missing (404), refused however it was asked, or gave an answer that may be cut short."""
