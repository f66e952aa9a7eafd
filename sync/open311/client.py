"""An Open311 GeoReport v2 client, liberal in what it accepts (../shared/reference/open311.md).

One pooled httpx client per back office, a timeout on every call, no redirects followed, answers
capped in size. Every way a call can end is turned into one of a few outcomes the worker acts on
(sync.open311.outcomes); answers are read by sync.open311.formats and lists walked however the
server pages them (sync.open311.paging).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from sync.catalogue import Catalogue, CatalogueError, service_from_dict
from sync.config import BackofficeSettings, SyncSettings
from sync.open311.formats import an_id, as_text, error_message, http_date, iso_z, parse_body, records
from sync.open311.outcomes import Created, NotFound, Refused, Rejected, Transient, Unauthorised
from sync.open311.paging import PagedLists

log = logging.getLogger(__name__)

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
#: The longest wait a Retry-After may impose (a larger one is taken as this): a day.
RETRY_AFTER_MAX = 86_400.0
#: A whole call (connect, send, every byte of the answer) must end within this many timeouts:
#: `sync.timeout_seconds` bounds each wait, not a server that trickles a byte at a time.
CALL_DEADLINE_TIMEOUTS = 3


def _retry_after(response: httpx.Response) -> float | None:
    value = (response.headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit():
        return min(float(value), RETRY_AFTER_MAX)
    moment = http_date(value)
    if moment is None:
        return None
    return min(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()), RETRY_AFTER_MAX)


def _segment(value: Any) -> str:
    """A council's id or token as one URL path segment: "/", "?", "#" and ".." stay inside it."""
    return quote(str(value), safe="")


def _same_site(here: httpx.URL, location: str) -> bool:
    try:
        there = here.join(location)
    except (httpx.InvalidURL, ValueError, TypeError):
        return False
    return (there.scheme, there.host, there.port) == (here.scheme, here.host, here.port)


@dataclass
class Reply:
    """A whole answer, read within the size cap."""

    status: int
    content: bytes
    response: httpx.Response


class Open311Client(PagedLists):
    """One council back office over Open311: each call turns into an outcome or raises Transient,
    Unauthorised or NotFound (sync.open311.outcomes)."""

    def __init__(self, name: str, backoffice: BackofficeSettings, sync: SyncSettings,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__()
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
            raise Transient(f"cannot connect: {error or type(error).__name__}", maybe_sent=False,
                            reachable=False) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as error:
            raise Transient(f"cannot call {url!r}: {error}", maybe_sent=False, reachable=False) from None
        except httpx.PoolTimeout:
            raise Transient("no free connection in time", maybe_sent=False) from None
        except (httpx.WriteError, httpx.WriteTimeout, httpx.ReadError, httpx.ReadTimeout,
                httpx.RemoteProtocolError) as error:
            raise Transient(f"no answer: {type(error).__name__}", maybe_sent=sent, reachable=False) from None
        except httpx.HTTPError as error:
            raise Transient(f"HTTP failure: {type(error).__name__}: {error}", maybe_sent=sent) from None
        if (date := response.headers.get("date")) and (moment := http_date(date)) is not None:
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

    async def get_records(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """`_get` as a list of records; an answer of another shape is a passing failure."""
        body = await self._get(path, params)
        try:
            return records(body)
        except ValueError as error:
            raise Transient(f"{path}: {error}", maybe_sent=False) from None

    async def _services(self) -> list[dict[str, Any]]:
        """GET services, which every Open311 server has: a 404 means `url` is wrong, not "none"."""
        try:
            return await self.walk("services", {}, "service_code")
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
            same_site = _same_site(reply.response.url, location)
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
        request_id, token = an_id(first.get("service_request_id")), an_id(first.get("token"))
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
            found = await self.get_records(f"tokens/{_segment(token)}")
        except NotFound:
            return None
        for record in found:
            if (request_id := an_id(record.get("service_request_id"))) is not None:
                return request_id
        return None

    async def requests_by_id(self, ids: list[str]) -> list[dict[str, Any]]:
        return await self.get_records("requests", {"service_request_id": ",".join(ids)})

    async def request(self, request_id: str) -> dict[str, Any] | None:
        try:
            found = await self.get_records(f"requests/{_segment(request_id)}")
        except NotFound:
            return None
        return found[0] if found else None

    async def updates(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """FixMyStreet's servicerequestupdates, every page; raises NotFound where the server has none."""
        return await self.walk("servicerequestupdates", {"start_date": iso_z(start), "end_date": iso_z(end)},
                                "update_id")

    async def services_checked(self) -> None:
        """The cheapest call every server answers; it brings the council's clock up to date."""
        await self._services()

    async def _definition(self, service: dict[str, Any]) -> dict[str, Any]:
        """A service's definition (its attributes), or {} where it has none."""
        if str(service.get("metadata", "")).lower() != "true":
            return {}
        try:
            return (await self.get_records(f"services/{_segment(as_text(service['service_code']))}") or [{}])[0]
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
        """mySociety's POST servicerequestupdates (residents' follow-ups, sync/store/followups.py): the
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
        return an_id(answers[0].get("update_id")) if answers else None
