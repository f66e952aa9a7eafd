"""An Open311 GeoReport v2 client, liberal in what it accepts (../shared/reference/open311.md).

One pooled httpx client per back office, a timeout on every call, no redirects followed, answers
capped in size and XML parsed with defusedxml. Every way a call can end is turned into one of a
few outcomes the worker acts on, and every failure says whether the request may have reached the
council (`maybe_sent`): that is what decides between resending and reconciling first.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml

from sync.catalogue import Catalogue, CatalogueError, service_from_dict
from sync.config import BackofficeSettings, SyncSettings

log = logging.getLogger(__name__)

PAGE_TRIES = 3
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
LIST_TAGS = frozenset({"services", "attributes", "values", "service_requests", "requests", "errors",
                       "service_requests_updates", "service_request_updates"})
ERROR_TEXT_MAX = 500
#: The longest wait a Retry-After may impose (a larger one is taken as this): a day.
RETRY_AFTER_MAX = 86_400.0
#: The longest id or token taken from a council: anything longer is not an id.
ID_MAX = 100
#: A whole call (connect, send, every byte of the answer) must end within this many timeouts:
#: `sync.timeout_seconds` bounds each wait, not a server that trickles a byte at a time.
CALL_DEADLINE_TIMEOUTS = 3


# ---------------------------------------------------------------------------------------------
# Outcomes


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


# ---------------------------------------------------------------------------------------------
# How a server pages its lists (../shared/reference/open311.md, "Seen on real servers")

#: What a list's walk learnt of its server's paging: it honours `page_size`; it pages at its own
#: size whatever `page_size` says; it takes `page`/`page_size` but answers everything (or its cap)
#: at once; or it refuses them (a closed schema), so none are sent.
PAGING = ("page_size", "own", "ignored", "refused")
#: The page size asked for where a server honours it.
PAGE_SIZE = 500
#: A list is walked no further than this many pages, whatever the server says.
MAX_PAGES = 200
#: An unpaged answer of this many records may be cut at the server's cap (the spec's default
#: window is "90 days or 1,000 requests") rather than be everything.
DEFAULT_CAP = 1000
#: How many times a capped window is halved before its search counts as inconclusive.
SPLIT_DEPTH = 10


@dataclass(frozen=True)
class Paging:
    """How one of a server's lists pages, learnt from its answers (see PAGING)."""

    style: str = "page_size"
    page_size: int | None = None  # the server's own page size, where it has one

    @property
    def unpaged(self) -> bool:
        return self.style in ("ignored", "refused")

    def describe(self) -> str:
        return {"page_size": f"pages as asked ({PAGE_SIZE} a page)",
                "own": f"pages at its own size ({self.page_size or '?'} a page)",
                "ignored": "answers every record at once (or its cap)",
                "refused": "refuses paging parameters; asked without them"}[self.style]


def paging_from_json(text: str | None) -> dict[str, Paging]:
    """The learnt paging of each list ("requests", "services", ...) as kept in the store."""
    try:
        data = json.loads(text) if text else {}
        return {name: Paging(str(value["style"]), value.get("page_size")) for name, value in data.items()
                if isinstance(value, dict) and value.get("style") in PAGING}
    except (ValueError, TypeError, AttributeError, KeyError):
        return {}


def paging_to_json(paging: dict[str, Paging]) -> str:
    return json.dumps({name: {"style": value.style, "page_size": value.page_size}
                       for name, value in sorted(paging.items())})


# ---------------------------------------------------------------------------------------------
# Parsing what servers send


def _from_xml(element: Element) -> Any:
    children = list(element)
    if not children:
        return [] if element.tag in LIST_TAGS else (element.text or "").strip()
    if element.tag in LIST_TAGS:
        return [_from_xml(child) for child in children]
    return {child.tag: _from_xml(child) for child in children}


def _is_list_root(root: Element) -> bool:
    """Whether a document's root holds a list of records, whatever it is called: servers name it
    `<service_requests>`, `<requests>`, `<services>` or otherwise. Records are elements with
    elements inside, all of one tag; an empty root is an empty list, never an error."""
    children = list(root)
    if not children:
        return not (root.text or "").strip()
    return (len({child.tag for child in children}) == 1 and children[0].tag not in LIST_TAGS
            and all(len(child) for child in children))


def parse_body(content: bytes, fmt: str) -> Any:
    """JSON or XML into Python; raises ValueError for anything malformed or dangerous."""
    if fmt == "xml":
        try:
            root = parse_xml(content, forbid_dtd=True)
            if _is_list_root(root):
                return [_from_xml(child) for child in root]
            return _from_xml(root)
        except (ParseError, DefusedXmlException, RecursionError) as error:
            raise ValueError(f"unreadable XML ({type(error).__name__})") from None
    try:
        return json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"unreadable JSON ({error})") from None
    except RecursionError:
        raise ValueError("unreadable JSON (nested too deeply)") from None


def records(body: Any) -> list[dict[str, Any]]:
    """A list of objects from the shapes servers use: a bare array, a wrapped one, or one object."""
    if isinstance(body, dict):
        wrapped = [value for value in body.values() if isinstance(value, list)]
        body = wrapped[0] if len(body) == 1 and wrapped else [body]
    if not isinstance(body, list):
        raise ValueError("expected a list of records")
    return [item for item in body if isinstance(item, dict)]


def error_message(content: bytes, fmt: str) -> str:
    """The council's own words from an error body, whatever its shape; else a short excerpt."""
    texts: list[str] = []

    def words(item: dict[str, Any]) -> Any:
        text = item.get("description") or item.get("detail") or item.get("message") or item.get("error")
        return words(text) if isinstance(text, dict) else text

    try:
        body = parse_body(content, fmt)
        if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), list):
            body = next(iter(body.values()))  # {"errors": [...]}
        for item in (body if isinstance(body, list) else [body]):
            if isinstance(item, dict):
                text = words(item)
                texts.append(str(text) if text else json.dumps(item)[:200])
            elif item:
                texts.append(str(item))
    except ValueError:
        texts.append(content[:200].decode("utf-8", "replace"))
    return "; ".join(text.strip() for text in texts if text.strip())[:ERROR_TEXT_MAX] or "no reason given"


def _retry_after(response: httpx.Response) -> float | None:
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    moment = _http_date(value)
    if moment is None:
        return None
    return min(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()), RETRY_AFTER_MAX)


def _http_date(value: str) -> datetime | None:
    """An HTTP date, always aware: one with a "-0000" zone parses naive, and is UTC."""
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _an_id(value: Any) -> str | None:
    """A council's id or token as text, or None for anything that cannot be one (an object, a
    list, a boolean, a float, blank, too long, control characters): never accept a bogus id."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip()
    return text if text and len(text) <= ID_MAX and text.isprintable() else None


def _segment(value: Any) -> str:
    """A council's id or token as one URL path segment: "/", "?", "#" and ".." stay inside it."""
    return quote(str(value), safe="")


def _ids(found: list[dict[str, Any]]) -> set[str | None]:
    return {as_text(record.get("service_request_id")) for record in found}


def as_text(value: Any) -> str | None:
    """Ids arrive as numbers or strings; 0 is a real id, so never test ids for truth."""
    if value is None or value == "":
        return None
    return str(value)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_when(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# The client


@dataclass
class Reply:
    status: int
    content: bytes
    response: httpx.Response


class Open311Client:
    def __init__(self, name: str, backoffice: BackofficeSettings, sync: SyncSettings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.name = name
        self.settings = backoffice
        self.fmt = backoffice.format
        self.base = backoffice.url if backoffice.url.endswith("/") else backoffice.url + "/"
        self.max_bytes = sync.max_response_bytes
        self.deadline = float(sync.timeout_seconds * CALL_DEADLINE_TIMEOUTS)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(sync.timeout_seconds),
            limits=httpx.Limits(max_connections=sync.concurrency, max_keepalive_connections=sync.concurrency),
            follow_redirects=False, transport=transport,
            headers={"User-Agent": "assist (Open311 client)", "Accept-Encoding": "gzip, deflate"})
        self._server_date: tuple[datetime, float] | None = None
        #: How each list pages, learnt from answers; the worker keeps it in the store.
        self.paging: dict[str, Paging] = {}
        self.paging_changed = False

    async def aclose(self) -> None:
        await self._client.aclose()

    def server_now(self) -> datetime | None:
        """The council's clock, from the last `Date` header it sent, moved on by our own
        monotonic clock: a kiosk's wall clock can be hours wrong after a power cut."""
        if self._server_date is None:
            return None
        moment, seen_at = self._server_date
        return moment + timedelta(seconds=time.monotonic() - seen_at)

    async def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                    data: list[tuple[str, str]] | None = None) -> Reply:
        """One call; transport failures become Transient, saying whether a request may have arrived."""
        url = f"{self.base}{path}.{self.fmt}"
        sent = method == "POST"  # only a POST can have created something at the council
        try:
            body = urlencode(data).encode() if data is not None else None
            async with asyncio.timeout(self.deadline):
                async with self._client.stream(method, url, params=params, content=body,
                                               headers=FORM if body is not None else None) as response:
                    content = await self._read_capped(response, sent)
        except TimeoutError:  # the deadline, not httpx's own timeouts (those are no TimeoutError)
            raise Transient(f"no complete answer within {self.deadline:g} s", maybe_sent=sent,
                            reachable=False) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise Transient(f"cannot connect: {error or type(error).__name__}", maybe_sent=False, reachable=False) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise Transient(f"cannot call {url!r}: {error}", maybe_sent=False, reachable=False) from None
        except httpx.PoolTimeout:
            raise Transient("no free connection in time", maybe_sent=False) from None
        except (httpx.WriteError, httpx.WriteTimeout, httpx.ReadError, httpx.ReadTimeout,
                httpx.RemoteProtocolError) as error:
            raise Transient(f"no answer: {type(error).__name__}", maybe_sent=sent, reachable=False) from None
        except httpx.HTTPError as error:
            raise Transient(f"HTTP failure: {type(error).__name__}: {error}", maybe_sent=sent) from None
        if (date := response.headers.get("date")) and (moment := _http_date(date)) is not None:
            self._server_date = (moment, time.monotonic())
        return Reply(response.status_code, content, response)

    async def _read_capped(self, response: httpx.Response, sent: bool) -> bytes:
        """The answer, decoded, refused once past `max_bytes`. Decoded here, never more than the
        cap past it, not by httpx: its decoder inflates each 64 KiB read whole, so a gzip bomb
        took 150 MB to be refused under a 2 KiB cap."""
        codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if codings not in ([], ["gzip"], ["x-gzip"], ["deflate"]):
            raise Transient(f"answer in an encoding assist does not read ({', '.join(codings)[:60]})",
                            maybe_sent=sent)
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 32) if codings else None  # gzip or zlib header
        chunks, size = [], 0
        async for raw in response.aiter_raw():
            try:
                chunk = inflate.decompress(raw, self.max_bytes - size + 1) if inflate else raw
            except zlib.error as error:
                raise httpx.DecodingError(f"unreadable {codings[0]} answer ({error})") from None
            size += len(chunk)
            if size > self.max_bytes:
                raise Transient(f"answer larger than {self.max_bytes} bytes; not read", maybe_sent=sent)
            chunks.append(chunk)
        return b"".join(chunks)

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        reply = await self._call("GET", path, params=params)
        if reply.status == 404:
            raise NotFound(path)
        if reply.status in (400, 422):
            raise Rejected(f"{reply.status}: {error_message(reply.content, self.fmt)}", reply.status)
        self._raise_for_status(reply, maybe_sent=False)
        try:
            return parse_body(reply.content, self.fmt)
        except ValueError as error:
            raise Transient(f"{path}: {error}", maybe_sent=False) from None

    async def _records(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`_get` as a list of records; an answer of another shape is a passing failure."""
        body = await self._get(path, params)
        try:
            return records(body)
        except ValueError as error:
            raise Transient(f"{path}: {error}", maybe_sent=False) from None

    async def _walk(self, path: str, params: dict[str, Any], id_key: str) -> list[dict[str, Any]]:
        """Every record of a list, however this server pages it, learning how as it goes.

        Pages are asked for with `page`/`page_size` unless the server refused them before. After
        any non-empty page the next is asked for: a server may page at its own size whatever
        `page_size` says. The walk ends at an empty page, a 404 past the first page, a page that
        repeats one already seen (the server ignores `page`), or a page shorter than an earlier
        one. A 400 to the paged question that the bare one does not get means the parameters
        were refused (a closed schema): they are not sent to that list again. A page that fails
        is asked for again a few times, so one hiccup does not restart a long walk."""
        learnt = self.paging.get(path, Paging())
        if learnt.style == "refused":
            return await self._page(path, params)
        if learnt.style == "ignored":
            return await self._page(path, {**params, "page": 1, "page_size": PAGE_SIZE})
        walked: list[dict[str, Any]] = []
        seen: set[str] = set()
        sizes: list[int] = []
        style = ""
        for page in range(1, MAX_PAGES + 1):
            try:
                found = await self._page(path, {**params, "page": page, "page_size": PAGE_SIZE})
            except NotFound:
                if page == 1:
                    raise
                break
            except Rejected:
                if page > 1:
                    raise
                found = await self._page(path, params)  # refused this way too: the search is refused
                self._learn(path, Paging("refused"))
                return found
            ids = [as_text(record.get(id_key)) for record in found]
            new = [record for record, i in zip(found, ids) if i is None or i not in seen]
            if not found or (any(i is not None for i in ids) and not new):  # empty, or a page seen already
                if page == 2 and found:
                    style = "ignored"
                break
            seen.update(i for i in ids if i is not None)
            walked += new  # a page may overlap the last where requests arrive during the walk
            sizes.append(len(found))
            if len(found) > PAGE_SIZE:
                style = "ignored"
                break
            if len(sizes) > 1 and sizes[-1] < max(sizes[:-1]):
                break
        if style == "ignored":
            self._learn(path, Paging("ignored"))
        elif len(sizes) > 1:  # only a second page tells whose page size it is
            self._learn(path, Paging("own", sizes[0]) if sizes[0] < PAGE_SIZE else Paging("page_size"))
        return walked

    async def _page(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        for attempt in range(PAGE_TRIES):
            try:
                return await self._records(path, params)
            except Rejected:
                raise
            except Transient:
                if attempt == PAGE_TRIES - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _learn(self, path: str, paging: Paging) -> None:
        """Keep what a walk learnt; the worker saves `paging` to the store when `paging_changed`."""
        if self.paging.get(path) != paging:
            self.paging = {**self.paging, path: paging}
            self.paging_changed = True

    async def _services(self) -> list[dict[str, Any]]:
        """GET services, which every Open311 server has: a 404 means `url` is wrong, not "none"."""
        try:
            return await self._walk("services", {}, "service_code")
        except NotFound:
            raise Transient(f"404 for {self.base}services.{self.fmt}: is this back office's url right?",
                            maybe_sent=False) from None

    def _raise_for_status(self, reply: Reply, *, maybe_sent: bool) -> None:
        status = reply.status
        if 200 <= status < 300:
            return
        message = error_message(reply.content, self.fmt)
        if status in (401, 403):
            raise Unauthorised(f"{status}: {message}")
        if status == 429:
            raise Transient(f"429 too many requests: {message}", maybe_sent=False,
                            retry_after=_retry_after(reply.response))
        if 300 <= status < 400:
            location = reply.response.headers.get("location", "?")
            # After a POST, 303 (and 301/302 within the same site, as Rails answers a creation)
            # is Post/Redirect/Get: the request was most likely created. 307/308, or a move to
            # another host, asks for the POST to be made elsewhere: nothing was done here.
            here = reply.response.url
            try:
                there = here.join(location)
                same_site = (there.scheme, there.host, there.port) == (here.scheme, here.host, here.port)
            except (httpx.InvalidURL, ValueError, TypeError):
                same_site = False
            created = maybe_sent and (status == 303 or (status in (301, 302) and same_site))
            raise Transient(f"{status} redirect to {location[:200]} (not followed)", maybe_sent=created)
        raise Transient(f"{status}: {message}", maybe_sent=maybe_sent or status >= 500,
                        retry_after=_retry_after(reply.response), server_error=status >= 500)

    # -- the calls ---------------------------------------------------------------------------

    async def create(self, fields: list[tuple[str, str]]) -> Created | Refused:
        """POST requests. Created, or Refused (400/404/422: a person must look); Transient and
        Unauthorised are raised."""
        reply = await self._call("POST", "requests", data=self._signed(fields))
        if reply.status in (400, 404, 409, 422):
            return Refused(error_message(reply.content, self.fmt), reply.status)
        self._raise_for_status(reply, maybe_sent=True)
        try:
            answers = records(parse_body(reply.content, self.fmt))
            first = answers[0]
        except (ValueError, IndexError) as error:
            why = str(error) if isinstance(error, ValueError) else "no records"
            raise Transient(f"{reply.status} with an answer that is not Open311 ({why}): "
                            f"{reply.content[:120].decode('utf-8', 'replace')!r}", maybe_sent=True) from None
        request_id, token = _an_id(first.get("service_request_id")), _an_id(first.get("token"))
        if request_id is None and token is None:
            found = {key: first.get(key) for key in ("service_request_id", "token")}
            raise Transient(f"{reply.status} without a service_request_id or token that can be used: "
                            f"{json.dumps(found, default=str)[:120]}", maybe_sent=True)
        return Created(request_id, None if request_id is not None else token, as_text(first.get("service_notice")))

    def _signed(self, fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
        extra = [("api_key", self.settings.api_key)] if self.settings.api_key else []
        if self.settings.jurisdiction_id:
            extra.append(("jurisdiction_id", self.settings.jurisdiction_id))
        return [*fields, *extra]

    async def token(self, token: str) -> str | None:
        """The id the council gave a token's request, or None while it has none (404)."""
        try:
            found = await self._records(f"tokens/{_segment(token)}")
        except NotFound:
            return None
        for record in found:
            if (request_id := _an_id(record.get("service_request_id"))) is not None:
                return request_id
        return None

    async def search(self, service_code: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every request for a service in a window, or Unsearchable where the answer cannot be
        complete: no search endpoint (404), a search refused however it is asked (400), or an
        unpaged answer at the server's cap that halving the window does not bring under it (the
        server ignores dates, or too many requests share a moment). Transient failures are raised."""
        query = {"service_code": service_code, "start_date": iso_z(start), "end_date": iso_z(end)}
        try:
            found = await self._walk("requests", query, "service_request_id")
        except NotFound:
            raise Unsearchable("the council's server has no search of requests (404)") from None
        except Rejected as error:
            raise Unsearchable(f"the council's server refused the search ({error.reason})") from None
        if not self.paging.get("requests", Paging()).unpaged or len(found) < DEFAULT_CAP:
            return found
        return await self._split(service_code, start, end, found, SPLIT_DEPTH)

    async def _split(self, service_code: str, start: datetime, end: datetime, whole: list[dict[str, Any]],
                     depth: int) -> list[dict[str, Any]]:
        """An unpaged answer at the cap, searched again in two halves of its window."""
        middle = start + (end - start) / 2
        if depth == 0 or end - start < timedelta(minutes=2):
            raise Unsearchable(f"the council's server answers at most {len(whole)} requests at once, "
                               "and halving the window does not bring it under that")
        windows = ((start, middle), (middle, end))
        found = [await self._walk("requests", {"service_code": service_code, "start_date": iso_z(low),
                                               "end_date": iso_z(high)}, "service_request_id")
                 for low, high in windows]
        if all(_ids(half) == _ids(whole) for half in found):
            raise Unsearchable("the council's server ignores the search's dates and answers at most "
                               f"{len(whole)} requests")
        halves = [half if len(half) < DEFAULT_CAP else await self._split(service_code, low, high, half, depth - 1)
                  for half, (low, high) in zip(found, windows)]
        merged = {as_text(record.get("service_request_id")): record for half in halves for record in half}
        return list(merged.values())

    async def requests_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        return await self._records("requests", {"service_request_id": ",".join(ids)})

    async def request(self, request_id: str) -> dict[str, Any] | None:
        try:
            found = await self._records(f"requests/{_segment(request_id)}")
        except NotFound:
            return None
        return found[0] if found else None

    async def updates(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """FixMyStreet's servicerequestupdates, every page; raises NotFound where the server has none."""
        return await self._walk("servicerequestupdates", {"start_date": iso_z(start), "end_date": iso_z(end)},
                                "update_id")

    async def services_checked(self) -> None:
        """The cheapest call every server answers; it brings the council's clock up to date."""
        await self._services()

    async def _definition(self, service: dict[str, Any]) -> dict[str, Any]:
        """A service's definition (its attributes), or {} where it has none."""
        if str(service.get("metadata", "")).lower() != "true":
            return {}
        try:
            return (await self._records(f"services/{_segment(as_text(service['service_code']))}") or [{}])[0]
        except NotFound:
            return {}

    async def catalogue(self) -> Catalogue:
        """The council's services with their definitions, as a Catalogue."""
        listed = [item for item in await self._services() if as_text(item.get("service_code"))]
        definitions = await asyncio.gather(*(self._definition(item) for item in listed))
        services = []
        for item, definition in zip(listed, definitions):
            keywords = item.get("keywords") or ""
            if isinstance(keywords, str):
                keywords = [word.strip() for word in keywords.split(",") if word.strip()]
            try:
                services.append(service_from_dict({
                    "code": as_text(item["service_code"]), "name": item.get("service_name") or item["service_code"],
                    "description": item.get("description") or "", "group": item.get("group") or "",
                    "keywords": keywords, "type": item.get("type") or "realtime",
                    "attributes": [
                        {**attribute, "values": [v for v in (attribute.get("values") or []) if isinstance(v, dict)]}
                        for attribute in (definition.get("attributes") or []) if isinstance(attribute, dict)],
                }, f"{self.name} services"))
            except CatalogueError as error:
                log.warning("%s: skipping a service assist cannot ask about: %s", self.name, error)
        if not services:
            raise Transient("the council's catalogue is empty", maybe_sent=False)
        version = f"{self.name}:{iso_z(self.server_now() or datetime.now(timezone.utc))}"
        return Catalogue(version=version, source="council", services=tuple(services))


    async def post_update(self, fields: list[tuple[str, str]]) -> str | None | Refused:
        """mySociety's POST servicerequestupdates (residents' follow-ups, sync/followups.py): the
        council's id for the update (None if it gave none), or Refused (400, 404, 405, 409, 422:
        404 and 405 mean this server has no such endpoint). Transient and Unauthorised are raised."""
        reply = await self._call("POST", "servicerequestupdates", data=self._signed(fields))
        if reply.status in (400, 404, 405, 409, 422):
            return Refused(error_message(reply.content, self.fmt), reply.status)
        self._raise_for_status(reply, maybe_sent=True)
        try:
            answers = records(parse_body(reply.content, self.fmt))
        except ValueError:
            return None  # a 2xx: it arrived, whatever the answer looks like
        return _an_id(answers[0].get("update_id")) if answers else None
