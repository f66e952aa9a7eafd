"""The reference back office: an Open311 GeoReport v2 server on Starlette.

Endpoints are at the root, format by suffix (`.json` or `.xml`):

    GET  /services.{fmt}                    the demo council's services (bundled catalogue codes)
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
`Profile` of behaviours the handlers below read (closed schemas, key refusals, paging, roots,
...), and the faults of council/edge.py wrap every profile alike.
"""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from council.db import STATUSES, CouncilDB, UnknownRequest, UpdateIdTaken
from council.edge import Edge
from council.formats import (
    FORMATS,
    definition_view,
    format_of,
    render_errors,
    render_list,
    render_object,
    request_view,
    service_view,
    update_view,
)
from council.profiles import profile_named
from council.validate import Rejected, check_api_key, parse_form, validate_request, validate_update
from sync.catalogue import Catalogue, bundled

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
DEFAULT_WINDOW = timedelta(days=90)
COUNCIL_NAME = "Brackenford Borough Council"
SERVICE_NOTICE = "Thank you. We aim to look at this within 5 working days."
SERVER_ERROR = "internal error in the back office"


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class CouncilApp(Starlette):
    """Starlette with the `Edge` (Date header, fault injection) wrapped around everything,
    outside Starlette's own error handling, so it sees the server's own `send`."""

    edge: Edge

    async def __call__(self, scope, receive, send) -> None:
        await self.edge(scope, receive, send, super().__call__)


def _fmt(request: Request) -> str:
    fmt = request.path_params.get("fmt", "")
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown format {fmt!r}: use .json or .xml")
    return fmt


def _date_param(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(400, [f"{name} {text!r} is not an ISO 8601 date and time"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _list_param(request: Request, name: str) -> list[str]:
    return [item.strip() for item in request.query_params.get(name, "").split(",") if item.strip()]


def create_app(db_path: str | Path, *, profile: str = "default", api_key: str | None = None,
               token_mode: bool = False, token_delay: float = 1.0, fail_rate: float = 0.0, latency: float = 0.0,
               drop_after_commit: float = 0.0, seed: int | None = None,
               now: Callable[[], datetime] | None = None, catalogue: Catalogue | None = None,
               page_size: int | None = None) -> Starlette:
    """The back office as an ASGI app, with its store at `db_path` (created if missing).

    `profile` names the family of real servers it plays (council/profiles.py; ValueError for an
    unknown name). `api_key=None` accepts POSTs without a key; otherwise a missing or different
    key is 403 (or what the profile answers). `token_mode` adds token answers to any profile.
    `page_size` is the server's page size: the default of `page_size=` under client paging, the
    only size under fixed paging (default: the profile's own, else 50).
    `now` is the server's clock (aware datetimes; naive ones are taken as UTC): it stamps
    requests and updates, drives token assignment and fills the Date header. Serve the app
    with uvicorn's `date_header=False`. The store is closed at lifespan shutdown and is on
    `app.state.db`; the profile is on `app.state.profile`.
    """
    chosen = profile_named(profile)
    for name, rate in (("fail_rate", fail_rate), ("drop_after_commit", drop_after_commit)):
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, not {rate}")
    if latency < 0 or token_delay < 0:
        raise ValueError("latency and token_delay cannot be negative")
    if page_size is not None and not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    server_page_size = page_size or chosen.page_size or DEFAULT_PAGE_SIZE
    token_mode = token_mode or chosen.token_mode
    ignored = chosen.ignored_search_filters

    clock = now or utc_now

    def current() -> datetime:
        moment = clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    catalogue = catalogue or bundled()
    db = CouncilDB(db_path)

    def listing(fmt: str, items: list[dict[str, Any]], *, root: str, item: str, status: int = 200,
                headers: dict[str, str] | None = None) -> Response:
        shown = chosen.xml_root(root)
        return render_list(fmt, items, root=shown, item=item, status=status, headers=headers,
                           empty_xml=chosen.xml_empty.get(shown))

    def expect(request: Request, endpoint: str) -> str:
        """The format, once the query has passed the profile's schema."""
        fmt = _fmt(request)
        chosen.check_parameters(endpoint, list(request.query_params.keys()))
        return fmt

    def window(request: Request, start_name: str = "start_date",
               end_name: str = "end_date") -> tuple[datetime, datetime]:
        start, end = _date_param(request, start_name), _date_param(request, end_name)
        end = end or (start + DEFAULT_WINDOW if start else current())
        start = start or end - DEFAULT_WINDOW
        if start > end:
            raise Rejected(400, [f"{start_name} is after {end_name}"])
        if end - start > DEFAULT_WINDOW:
            raise Rejected(400, [f"{start_name} to {end_name} spans more than 90 days"])
        return start, end

    async def services(request: Request) -> Response:
        fmt = expect(request, "services")
        views = [service_view(service) for service in catalogue.services]
        headers = None
        if chosen.paging == "fixed":  # the only paging that reaches the list of services
            page = chosen.page_for(request.query_params, server_page_size, MAX_PAGE_SIZE)
            headers = page.headers(len(views), request.url)
            views = views[page.offset:page.offset + (page.limit or len(views))]
        return listing(fmt, views, root="services", item="service", headers=headers)

    async def service_definition(request: Request) -> Response:
        fmt = expect(request, "service_definition")
        code = request.path_params["code"]
        service = catalogue.get(code)
        if service is None:
            raise HTTPException(404, f"service_code {code!r} is unknown: no such service")
        return render_object(fmt, definition_view(service), root="service_definition")

    async def requests_endpoint(request: Request) -> Response:
        fmt = _fmt(request)
        if request.method == "POST":
            return await create_request(request, fmt)
        if not chosen.searchable:
            raise HTTPException(404, "this back office has no search of requests: GET requests/{id} instead")
        return await search_requests(request, expect(request, "search"))

    async def create_request(request: Request, fmt: str) -> Response:
        form = parse_form(await request.body(), request.headers.get("content-type"))
        chosen.check_parameters("create", list(form.scalars))
        check_api_key(form, api_key, chosen.key_refusal)
        located = form.scalars.get("lat", "").strip() and form.scalars.get("long", "").strip()
        if chosen.latlong_required and not located:
            raise Rejected(500, [SERVER_ERROR])  # what an unguarded server answers to an address alone
        if not chosen.store_address_string:
            form.scalars.pop("address_string", None)
        fields = validate_request(form, catalogue)
        if chosen.description_limit is not None:
            fields["description"] = fields["description"][:chosen.description_limit]
        service = catalogue.get(fields["service_code"])
        fields.update(agency_responsible=f"{COUNCIL_NAME}: {service.group}" if service.group else COUNCIL_NAME,
                      service_notice=SERVICE_NOTICE)
        created = await run_in_threadpool(db.create_request, fields, now=current(), token_mode=token_mode,
                                          token_delay=token_delay)
        answer: dict[str, Any] = ({"token": created.token} if token_mode
                                  else {"service_request_id": created.service_request_id})
        answer["service_notice"] = SERVICE_NOTICE
        if fields.get("account_id"):
            answer["account_id"] = fields["account_id"]
        return listing(fmt, [answer], root="service_requests", item="request", status=201)

    async def search_requests(request: Request, fmt: str) -> Response:
        ids = [] if "service_request_id" in ignored else _list_param(request, "service_request_id")
        statuses = _list_param(request, "status")
        for status in statuses:
            if status not in STATUSES:
                raise Rejected(400, [f"status {status!r} is not one of {', '.join(STATUSES)}"])
        page = chosen.page_for(request.query_params, server_page_size, MAX_PAGE_SIZE)
        filters: dict[str, Any] = {"ids": ids}
        if not ids:
            start, end = (None, None) if {"start_date", "end_date"} & ignored else window(request)
            filters.update(service_codes=_list_param(request, "service_code"), start=start, end=end,
                           statuses=statuses, updated_after=_date_param(request, "updated_after"),
                           updated_before=_date_param(request, "updated_before"))
        await run_in_threadpool(db.assign_due, current())

        def fetch() -> tuple[list[dict[str, Any]], int]:
            rows = db.search(**filters, limit=page.limit, offset=page.offset, newest_first=chosen.newest_first)
            return rows, (db.count_matching(**filters) if page.fixed else len(rows))

        rows, total = await run_in_threadpool(fetch)
        return listing(fmt, [request_view(row) for row in rows], root="service_requests", item="request",
                       headers=page.headers(total, request.url))

    async def one_request(request: Request) -> Response:
        fmt = expect(request, "one_request")
        service_request_id = request.path_params["service_request_id"]
        await run_in_threadpool(db.assign_due, current())
        row = await run_in_threadpool(db.get, service_request_id)
        if row is None:
            raise HTTPException(404, f"no service request {service_request_id!r}")
        return listing(fmt, [request_view(row)], root="service_requests", item="request")

    async def token(request: Request) -> Response:
        fmt = expect(request, "tokens")
        value = request.path_params["token"]
        await run_in_threadpool(db.assign_due, current())
        row = await run_in_threadpool(db.by_token, value)
        if row is None:
            raise HTTPException(404, f"no request with token {value!r}")
        if row["service_request_id"] is None:
            raise HTTPException(404, f"token {value!r}: the request has no service_request_id yet")
        return listing(fmt, [{"service_request_id": row["service_request_id"], "token": value}],
                       root="service_requests", item="request")

    async def updates_endpoint(request: Request) -> Response:
        fmt = _fmt(request)
        if request.method == "POST":
            return await post_update(request, fmt)
        return await updates(request, expect(request, "updates"))

    async def updates(request: Request, fmt: str) -> Response:
        start, end = window(request)
        page = chosen.page_for(request.query_params, server_page_size, MAX_PAGE_SIZE)

        def fetch() -> tuple[list[dict[str, Any]], int]:
            rows = db.updates(start=start, end=end, limit=page.limit, offset=page.offset,
                              newest_first=chosen.newest_first)
            return rows, (db.count_updates(start=start, end=end) if page.fixed else len(rows))

        rows, total = await run_in_threadpool(fetch)
        return listing(fmt, [update_view(row) for row in rows], root="service_requests_updates",
                       item="request_update", headers=page.headers(total, request.url))

    async def post_update(request: Request, fmt: str) -> Response:
        """mySociety's `POST servicerequestupdates`, answered as its open311-adapter does: 200 and
        a list of one `update_id` (the server's id), under `<service_request_updates>` in XML."""
        form = parse_form(await request.body(), request.headers.get("content-type"))
        chosen.check_parameters("post_update", [*form.scalars, *(f"attribute[{code}]" for code in form.attributes)])
        check_api_key(form, api_key, chosen.key_refusal)
        fields = validate_update(form)
        try:
            posted = await run_in_threadpool(
                lambda: db.post_update(fields["service_request_id"], client_update_id=fields["update_id"],
                                       status=fields["status"], description=fields["description"],
                                       media_url=fields["media_url"], now=current()))
        except UnknownRequest:
            message = f"service_request_id {fields['service_request_id']!r} is unknown: no such request"
            raise Rejected(400, [message]) from None
        except UpdateIdTaken:
            message = f"update_id {fields['update_id']!r} is already an update of another request"
            raise Rejected(400, [message]) from None
        answer: dict[str, Any] = {"update_id": posted.update_id}
        if fields["account_id"]:
            answer["account_id"] = fields["account_id"]
        return render_list(fmt, [answer], root="service_request_updates", item="request_update")

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
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            db.close()

    app = CouncilApp(
        routes=[
            Route("/services.{fmt}", services, methods=["GET"]),
            Route("/services/{code}.{fmt}", service_definition, methods=["GET"]),
            Route("/requests.{fmt}", requests_endpoint, methods=["GET", "POST"]),
            Route("/requests/{service_request_id}.{fmt}", one_request, methods=["GET"]),
            Route("/tokens/{token}.{fmt}", token, methods=["GET"]),
            Route("/servicerequestupdates.{fmt}", updates_endpoint, methods=["GET", "POST"]),
        ],
        exception_handlers={Rejected: rejected, HTTPException: http_error, ClientDisconnect: client_gone,
                            Exception: server_error},
        lifespan=lifespan,
    )
    app.edge = Edge(now=current, latency=latency, fail_rate=fail_rate, drop_after_commit=drop_after_commit,
                    rng=random.Random(seed))
    app.state.db = db
    app.state.profile = chosen
    return app
