"""How a server pages its lists, learnt from its answers, and the search of requests built on it
(../shared/reference/open311.md, "Seen on real servers").

Servers page alike in name only: some honour `page_size`, some page at their own size, some
ignore paging and answer everything (or their cap) at once, and closed schemas refuse the
parameters outright. A walk learns which, so the search that proves a lost request absent is
complete or says it cannot be.
"""

from __future__ import annotations

import asyncio
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sync.open311.formats import as_text, iso_z
from sync.open311.outcomes import NotFound, Rejected, Transient, Unsearchable

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
#: How many times one page is asked for before a walk gives up, so one hiccup does not restart it.
PAGE_TRIES = 3

Record = dict[str, Any]


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


def _ids(found: list[Record]) -> set[str | None]:
    return {as_text(record.get("service_request_id")) for record in found}


@dataclass
class _Walk:
    """One walk through a list's pages: the records gathered, and what the pages showed."""

    id_key: str
    records: list[Record] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    sizes: list[int] = field(default_factory=list)
    ignored: bool = False  # the server answered past `page_size`, or the same page twice

    def take(self, found: list[Record]) -> bool:
        """Add one page; whether the next is worth asking for. The walk ends at an empty page, a
        page that repeats one already seen (the server ignores `page`), or a page shorter than an
        earlier one. A page may overlap the last where requests arrive during the walk."""
        ids = [as_text(record.get(self.id_key)) for record in found]
        new = [record for record, i in zip(found, ids) if i is None or i not in self.seen]
        if not found or (any(i is not None for i in ids) and not new):
            self.ignored = len(self.sizes) == 1 and bool(found)  # the second page repeated the first
            return False
        self.seen.update(i for i in ids if i is not None)
        self.records += new
        self.sizes.append(len(found))
        if len(found) > PAGE_SIZE:
            self.ignored = True
            return False
        return not (len(self.sizes) > 1 and self.sizes[-1] < max(self.sizes[:-1]))

    def learnt(self) -> Paging | None:
        """What the walk showed of the paging; only a second page tells whose page size it is."""
        if self.ignored:
            return Paging("ignored")
        if len(self.sizes) > 1:
            return Paging("own", self.sizes[0]) if self.sizes[0] < PAGE_SIZE else Paging("page_size")
        return None


class PagedLists(ABC):
    """Walking a server's lists however it pages them, and searching its requests. The client
    fetches one page (`get_records`); this keeps what was learnt in `paging`, which the worker
    saves to the store when `paging_changed`."""

    def __init__(self) -> None:
        self.paging: dict[str, Paging] = {}
        self.paging_changed = False

    @abstractmethod
    async def get_records(self, path: str, params: dict[str, Any] | None = None) -> list[Record]:
        """One GET of `path` as a list of records (NotFound, Rejected or Transient raised)."""

    async def walk(self, path: str, params: dict[str, Any], id_key: str) -> list[Record]:
        """Every record of a list, however this server pages it, learning how as it goes.

        Pages are asked for with `page`/`page_size` unless the server refused them before. After
        any non-empty page the next is asked for: a server may page at its own size whatever
        `page_size` says. A 404 past the first page ends the walk. A 400 to the paged question that
        the bare one does not get means the parameters were refused (a closed schema): they are
        not sent to that list again."""
        learnt = self.paging.get(path, Paging())
        if learnt.style == "refused":
            return await self._page(path, params)
        if learnt.style == "ignored":
            return await self._page(path, {**params, "page": 1, "page_size": PAGE_SIZE})
        walk = _Walk(id_key)
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
                self.learn(path, Paging("refused"))
                return found
            if not walk.take(found):
                break
        if (paging := walk.learnt()) is not None:
            self.learn(path, paging)
        return walk.records

    async def _page(self, path: str, params: dict[str, Any]) -> list[Record]:
        """One page, asked for again a few times if it fails for now."""
        for attempt in range(PAGE_TRIES):
            try:
                return await self.get_records(path, params)
            except Rejected:
                raise
            except Transient:
                if attempt == PAGE_TRIES - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def learn(self, path: str, paging: Paging) -> None:
        """Keep what a walk learnt; the worker saves `paging` to the store when `paging_changed`."""
        if self.paging.get(path) != paging:
            self.paging = {**self.paging, path: paging}
            self.paging_changed = True

    def forget(self, path: str) -> None:
        """Forget how one list pages, so the next walk learns it again (and the store is told)."""
        if path in self.paging:
            self.paging = {name: value for name, value in self.paging.items() if name != path}
            self.paging_changed = True

    async def search(self, service_code: str, start: datetime, end: datetime) -> list[Record]:
        """Every request for a service in a window, or Unsearchable where the answer cannot be
        complete: no search endpoint (404), a search refused however it is asked (400), or an
        unpaged answer at the server's cap that halving the window does not bring under it (the
        server ignores dates, or too many requests share a moment). Transient failures are raised."""
        try:
            found = await self._search_window(service_code, start, end)
        except NotFound:
            raise Unsearchable("the council's server has no search of requests (404)") from None
        except Rejected as error:
            raise Unsearchable(f"the council's server refused the search ({error.reason})") from None
        if not self.paging.get("requests", Paging()).unpaged or len(found) < DEFAULT_CAP:
            return found
        return await self._split(service_code, start, end, found, SPLIT_DEPTH)

    async def _search_window(self, service_code: str, start: datetime, end: datetime) -> list[Record]:
        query = {"service_code": service_code, "start_date": iso_z(start), "end_date": iso_z(end)}
        return await self.walk("requests", query, "service_request_id")

    async def _split(self, service_code: str, start: datetime, end: datetime, whole: list[Record],
                     depth: int) -> list[Record]:
        """An unpaged answer at the cap, searched again in two halves of its window."""
        middle = start + (end - start) / 2
        if depth == 0 or end - start < timedelta(minutes=2):
            raise Unsearchable(f"the council's server answers at most {len(whole)} requests at once, "
                               "and halving the window does not bring it under that")
        windows = ((start, middle), (middle, end))
        found = [await self._search_window(service_code, low, high) for low, high in windows]
        if all(_ids(half) == _ids(whole) for half in found):
            raise Unsearchable("the council's server ignores the search's dates and answers at most "
                               f"{len(whole)} requests")
        halves = [half if len(half) < DEFAULT_CAP else await self._split(service_code, low, high, half, depth - 1)
                  for half, (low, high) in zip(found, windows)]
        merged = {as_text(record.get("service_request_id")): record for half in halves for record in half}
        return list(merged.values())
