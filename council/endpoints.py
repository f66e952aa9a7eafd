"""The Open311 endpoints, in Starlette's idiom: module-level functions and `HTTPEndpoint` classes
reading the back office they serve from `request.app.state.office`.

What differs between real servers is not asked here by name: each endpoint reads the fields of the
running `Profile` (council/profiles.py). Every POST comes through `posted_form`, the one place the
body is parsed, held to the profile's schema and its `api_key` checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from council.db import STATUSES, CouncilDB, UnknownRequest, UpdateIdTaken
from council.formats import (
    FORMATS,
    definition_view,
    render_list,
    render_object,
    request_view,
    service_view,
    update_view,
)
from council.profiles import Page, Profile
from council.services import Services
from council.validate import Form, Rejected, check_api_key, parse_form, validate_request, validate_update

MAX_PAGE_SIZE = 1000
DEFAULT_WINDOW = timedelta(days=90)  # the spec's default search window, and the widest allowed
COUNCIL_NAME = "Brackenford Borough Council"
SERVICE_NOTICE = "Thank you. We aim to look at this within 5 working days."
SERVER_ERROR = "internal error in the back office"


@dataclass(frozen=True)
class BackOffice:
    """What every endpoint shares, set once by `create_app` on `app.state.office`."""

    db: CouncilDB
    profile: Profile
    services: Services
    api_key: str | None  # None: POSTs need no key
    token_mode: bool
    token_delay: float
    page_size: int  # the default of page_size=, or fixed paging's only size
    clock: Callable[[], datetime]

    def now(self) -> datetime:
        """The server's clock, always aware (a naive clock is taken as UTC)."""
        moment = self.clock()
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

    def page(self, request: Request) -> Page:
        return self.profile.page_for(request.query_params, self.page_size, MAX_PAGE_SIZE)

    def listing(self, fmt: str, items: list[dict[str, Any]], *, root: str, item: str, status: int = 200,
                headers: dict[str, str] | None = None) -> Response:
        """A list answer under the root this profile writes (and its own empty XML list)."""
        shown = self.profile.xml_root(root)
        return render_list(fmt, items, root=shown, item=item, status=status, headers=headers,
                           empty_xml=self.profile.xml_empty.get(shown))


def office(request: Request) -> BackOffice:
    """The back office this request reached (`create_app` put it on the app's state)."""
    found: BackOffice = request.app.state.office
    return found


# -- what a request asks for --------------------------------------------------------------------

def requested_format(request: Request) -> str:
    fmt = request.path_params.get("fmt", "")
    if fmt not in FORMATS:
        raise HTTPException(404, f"unknown format {fmt!r}: use .json or .xml")
    return fmt


def expect(request: Request, endpoint: str) -> str:
    """The format of a GET, once its query has passed the profile's schema."""
    fmt = requested_format(request)
    office(request).profile.check_parameters(endpoint, list(request.query_params.keys()))
    return fmt


async def posted_form(request: Request, endpoint: str) -> Form:
    """The form of a POST once it has passed the profile's schema and the api_key check: a
    missing or wrong key is 403, or what the profile answers instead. A new request's
    attributes are checked against its service later, so only an update's count as parameters."""
    form = parse_form(await request.body(), request.headers.get("content-type"))
    names = list(form.scalars)
    if endpoint != "create":
        names += [f"attribute[{code}]" for code in form.attributes]
    shared = office(request)
    shared.profile.check_parameters(endpoint, names)
    check_api_key(form, shared.api_key, shared.profile.key_refusal)
    return form


def date_param(request: Request, name: str) -> datetime | None:
    text = request.query_params.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Rejected(400, [f"{name} {text!r} is not an ISO 8601 date and time"]) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def list_param(request: Request, name: str) -> list[str]:
    return [item.strip() for item in request.query_params.get(name, "").split(",") if item.strip()]


def window(request: Request) -> tuple[datetime, datetime]:
    """start_date to end_date: 90 days up to end_date (or now) where either is missing; wider is 400."""
    start, end = date_param(request, "start_date"), date_param(request, "end_date")
    end = end or (start + DEFAULT_WINDOW if start else office(request).now())
    start = start or end - DEFAULT_WINDOW
    if start > end:
        raise Rejected(400, ["start_date is after end_date"])
    if end - start > DEFAULT_WINDOW:
        raise Rejected(400, ["start_date to end_date spans more than 90 days"])
    return start, end


# -- services -----------------------------------------------------------------------------------

async def services(request: Request) -> Response:
    fmt = expect(request, "services")
    shared = office(request)
    views = [service_view(service) for service in shared.services.services]
    headers = None
    if shared.profile.paging == "fixed":  # the only paging that reaches the list of services
        page = shared.page(request)
        headers = page.headers(len(views), request.url)
        views = views[page.offset:page.offset + (page.limit or len(views))]
    return shared.listing(fmt, views, root="services", item="service", headers=headers)


async def service_definition(request: Request) -> Response:
    fmt = expect(request, "service_definition")
    code = request.path_params["code"]
    service = office(request).services.get(code)
    if service is None:
        raise HTTPException(404, f"service_code {code!r} is unknown: no such service")
    return render_object(fmt, definition_view(service), root="service_definition")


# -- requests -----------------------------------------------------------------------------------

class Requests(HTTPEndpoint):
    """`requests.{fmt}`: GET searches, POST creates."""

    async def get(self, request: Request) -> Response:
        requested_format(request)
        shared = office(request)
        if not shared.profile.searchable:
            raise HTTPException(404, "this back office has no search of requests: GET requests/{id} instead")
        fmt = expect(request, "search")
        statuses = list_param(request, "status")
        for status in statuses:
            if status not in STATUSES:
                raise Rejected(400, [f"status {status!r} is not one of {', '.join(STATUSES)}"])
        page = shared.page(request)
        filters = search_filters(request, statuses)
        await run_in_threadpool(shared.db.assign_due, shared.now())

        def fetch() -> tuple[list[dict[str, Any]], int]:
            rows = shared.db.search(**filters, limit=page.limit, offset=page.offset,
                                    newest_first=shared.profile.newest_first)
            return rows, (shared.db.count_matching(**filters) if page.fixed else len(rows))

        rows, total = await run_in_threadpool(fetch)
        return shared.listing(fmt, [request_view(row) for row in rows], root="service_requests", item="request",
                              headers=page.headers(total, request.url))

    async def post(self, request: Request) -> Response:
        fmt = requested_format(request)
        form = await posted_form(request, "create")
        shared = office(request)
        located = form.scalars.get("lat", "").strip() and form.scalars.get("long", "").strip()
        if shared.profile.latlong_required and not located:
            raise Rejected(500, [SERVER_ERROR])  # what an unguarded server answers to an address alone
        if not shared.profile.store_address_string:
            form.scalars.pop("address_string", None)
        fields = validate_request(form, shared.services)
        if shared.profile.description_limit is not None:
            fields["description"] = fields["description"][:shared.profile.description_limit]
        service = shared.services.get(fields["service_code"])
        assert service is not None  # validate_request refuses a code it does not know
        fields.update(agency_responsible=f"{COUNCIL_NAME}: {service.group}" if service.group else COUNCIL_NAME,
                      service_notice=SERVICE_NOTICE)
        created = await run_in_threadpool(shared.db.create_request, fields, now=shared.now(),
                                          token_mode=shared.token_mode, token_delay=shared.token_delay)
        answer: dict[str, Any] = ({"token": created.token} if shared.token_mode
                                  else {"service_request_id": created.service_request_id})
        answer["service_notice"] = SERVICE_NOTICE
        if fields.get("account_id"):
            answer["account_id"] = fields["account_id"]
        return shared.listing(fmt, [answer], root="service_requests", item="request", status=201)


def search_filters(request: Request, statuses: list[str]) -> dict[str, Any]:
    """The search's filters: the ids alone when given (they override the rest), as the profile
    reads them (a bridge ignores some)."""
    ignored = office(request).profile.ignored_search_filters
    ids = [] if "service_request_id" in ignored else list_param(request, "service_request_id")
    if ids:
        return {"ids": ids}
    start, end = (None, None) if {"start_date", "end_date"} & ignored else window(request)
    return {"ids": ids, "service_codes": list_param(request, "service_code"), "start": start, "end": end,
            "statuses": statuses, "updated_after": date_param(request, "updated_after"),
            "updated_before": date_param(request, "updated_before")}


async def one_request(request: Request) -> Response:
    fmt = expect(request, "one_request")
    shared = office(request)
    service_request_id = request.path_params["service_request_id"]
    await run_in_threadpool(shared.db.assign_due, shared.now())
    row = await run_in_threadpool(shared.db.get, service_request_id)
    if row is None:
        raise HTTPException(404, f"no service request {service_request_id!r}")
    return shared.listing(fmt, [request_view(row)], root="service_requests", item="request")


async def token(request: Request) -> Response:
    fmt = expect(request, "tokens")
    shared = office(request)
    value = request.path_params["token"]
    await run_in_threadpool(shared.db.assign_due, shared.now())
    row = await run_in_threadpool(shared.db.by_token, value)
    if row is None:
        raise HTTPException(404, f"no request with token {value!r}")
    if row["service_request_id"] is None:
        raise HTTPException(404, f"token {value!r}: the request has no service_request_id yet")
    return shared.listing(fmt, [{"service_request_id": row["service_request_id"], "token": value}],
                          root="service_requests", item="request")


# -- updates ------------------------------------------------------------------------------------

class RequestUpdates(HTTPEndpoint):
    """`servicerequestupdates.{fmt}`: FixMyStreet's GET of updates, and mySociety's POST of one."""

    async def get(self, request: Request) -> Response:
        fmt = expect(request, "updates")
        shared = office(request)
        start, end = window(request)
        page = shared.page(request)

        def fetch() -> tuple[list[dict[str, Any]], int]:
            rows = shared.db.updates(start=start, end=end, limit=page.limit, offset=page.offset,
                                     newest_first=shared.profile.newest_first)
            return rows, (shared.db.count_updates(start=start, end=end) if page.fixed else len(rows))

        rows, total = await run_in_threadpool(fetch)
        return shared.listing(fmt, [update_view(row) for row in rows], root="service_requests_updates",
                              item="request_update", headers=page.headers(total, request.url))

    async def post(self, request: Request) -> Response:
        """Answered as mySociety's open311-adapter does: 200 and a list of one `update_id` (the
        server's id), under `<service_request_updates>` in XML; once per client update_id."""
        fmt = requested_format(request)
        fields = validate_update(await posted_form(request, "post_update"))
        shared = office(request)
        try:
            posted = await run_in_threadpool(
                shared.db.post_update, fields["service_request_id"], client_update_id=fields["update_id"],
                status=fields["status"], description=fields["description"], media_url=fields["media_url"],
                now=shared.now())
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
