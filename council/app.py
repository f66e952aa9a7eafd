"""The reference back office: an Open311 GeoReport v2 server on Starlette.

Endpoints are at the root, format by suffix (`.json` or `.xml`):

    GET  /services.{fmt}                    the demo council's services (council/services.toml)
    GET  /services/{service_code}.{fmt}     a service definition; 404 for an unknown code
    POST /requests.{fmt}                    create a request (201); 403 bad api_key; 400 invalid
    GET  /tokens/{token}.{fmt}              token mode: 404 until the id is assigned
    GET  /requests.{fmt}                    search: service_request_id (overrides the rest),
                                            service_code, start_date, end_date, status,
                                            updated_after, updated_before, page, page_size
    GET  /requests/{service_request_id}.{fmt}
    GET  /servicerequestupdates.{fmt}       FixMyStreet's updates: start_date, end_date, paging
    POST /servicerequestupdates.{fmt}       mySociety's update extension (FixMyStreet's REOPEN):
                                            200 and [{"update_id": ...}]; once per update_id

Without start_date or end_date, a search covers the 90 days up to end_date (or now); a window
wider than 90 days is refused, as the spec allows. Results come oldest first, `page_size`
(default 50, at most 1,000) at a time; a client wanting everything pages until a short page.

That is the `default` profile. `create_app(profile=NAME)` / `assist council serve --profile
NAME` plays another family of real servers instead (council/profiles.py: strict, paged,
capped, xml-bare, truncating, unsearchable, tokens; docs/open311-servers.md). A profile is a
`Profile` of behaviours the endpoints (council/endpoints.py) read (closed schemas, key refusals, paging, roots,
...), and the faults of council/edge.py wrap every profile alike.
"""


from __future__ import annotations

import contextlib
import random
from datetime import datetime, timezone
from pathlib import Path
from typing import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from council.db import CouncilDB
from council.edge import Edge
from council.endpoints import (
    MAX_PAGE_SIZE,
    SERVER_ERROR,
    BackOffice,
    Requests,
    RequestUpdates,
    one_request,
    service_definition,
    services,
    token,
)
from council.formats import format_of, render_errors
from council.profiles import profile_named
from council.services import Services, own
from council.validate import Rejected

DEFAULT_PAGE_SIZE = 50

ROUTES = (
    Route("/services.{fmt}", services, methods=["GET"]),
    Route("/services/{code}.{fmt}", service_definition, methods=["GET"]),
    Route("/requests.{fmt}", Requests),
    Route("/requests/{service_request_id}.{fmt}", one_request, methods=["GET"]),
    Route("/tokens/{token}.{fmt}", token, methods=["GET"]),
    Route("/servicerequestupdates.{fmt}", RequestUpdates),
)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CouncilApp(Starlette):
    """Starlette with the `Edge` (Date header, fault injection) wrapped around everything,
    outside Starlette's own error handling, so it sees the server's own `send`."""

    edge: Edge

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.edge(scope, receive, send, super().__call__)


# -- every error in the Open311 error format, in the format the path asks for -------------------

async def rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Rejected)
    return render_errors(format_of(request.url.path), exc.status, *exc.messages)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render_errors(format_of(request.url.path), exc.status_code, exc.detail, headers=exc.headers)


async def client_gone(request: Request, exc: Exception) -> Response:
    return render_errors(format_of(request.url.path), 400, "the client disconnected before sending its request")


async def server_error(request: Request, exc: Exception) -> Response:
    return render_errors(format_of(request.url.path), 500, SERVER_ERROR)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """The store is closed when the server shuts down."""
    try:
        yield
    finally:
        app.state.db.close()


def _check_options(*, fail_rate: float, drop_after_commit: float, latency: float, token_delay: float,
                   page_size: int | None) -> None:
    for name, rate in (("fail_rate", fail_rate), ("drop_after_commit", drop_after_commit)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {rate}")
    if latency < 0 or token_delay < 0:
        raise ValueError("latency and token_delay cannot be negative")
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")


def create_app(db_path: str | Path, *, profile: str = "default", api_key: str | None = None,
               token_mode: bool = False, token_delay: float = 1.0, fail_rate: float = 0.0, latency: float = 0.0,
               drop_after_commit: float = 0.0, seed: int | None = None,
               now: Callable[[], datetime] | None = None, catalogue: Services | None = None,
               page_size: int | None = None) -> CouncilApp:
    """The back office as an ASGI app, with its store at `db_path` (created if missing).

    `profile` names the family of real servers it plays (council/profiles.py; ValueError for an
    unknown name). `api_key=None` accepts POSTs without a key; otherwise a missing or different
    key is 403 (or what the profile answers). `token_mode` adds token answers to any profile.
    `page_size` is the server's page size: the default of `page_size=` under client paging, the
    only size under fixed paging (default: the profile's own, else 50).
    `now` is the server's clock (aware datetimes; naive ones are taken as UTC): it stamps
    requests and updates, drives token assignment and fills the Date header. Serve the app
    with uvicorn's `date_header=False`.
    `catalogue` is the services to offer instead of council/services.toml's: a `Services`, or
    anything of its shape (the sync tests hand it the product's Catalogue to play a council with
    codes of its own).
    The endpoints' shared state is `app.state.office`; the store (closed at lifespan shutdown)
    is also `app.state.db` and the profile `app.state.profile`.
    """
    chosen = profile_named(profile)
    _check_options(fail_rate=fail_rate, drop_after_commit=drop_after_commit, latency=latency,
                   token_delay=token_delay, page_size=page_size)
    shared = BackOffice(db=CouncilDB(db_path), profile=chosen, services=catalogue or own(), api_key=api_key,
                        token_mode=token_mode or chosen.token_mode, token_delay=token_delay,
                        page_size=page_size or chosen.page_size or DEFAULT_PAGE_SIZE, clock=now or utc_now)
    app = CouncilApp(routes=ROUTES, lifespan=lifespan, exception_handlers={
        Rejected: rejected, HTTPException: http_error, ClientDisconnect: client_gone, Exception: server_error})
    app.edge = Edge(now=shared.now, latency=latency, fail_rate=fail_rate, drop_after_commit=drop_after_commit,
                    rng=random.Random(seed))
    app.state.office, app.state.db, app.state.profile = shared, shared.db, chosen
    return app
