"""The families of real Open311 servers the reference back office can play, one `Profile` each.

A profile is data, not code: each field names one way a real server departs from the default
(see ../shared/reference/open311.md, "How real servers deviate" and "Seen on real servers"),
and the endpoints in council/endpoints.py read the fields instead of asking which profile is running.
Faults (council/edge.py), `api_key`, `token_mode` and `page_size` combine with any profile.

    strict       a bridge with closed input schemas: unexpected parameters 400, bad key 400,
                 lat/long required, address_string dropped, date and id filters ignored
    paged        a DRF server: fixed pages of 100, 404 "Invalid page.", X-Page-Count headers
    capped       no paging at all, at most the newest 1,000 requests
    xml-bare     `<requests>` roots and bare empty XML lists
    truncating   descriptions cut to 255 characters when stored
    unsearchable GET requests.{fmt} is 404 (only requests/{id} works)
    tokens       POST answers a token; the id comes later from tokens/{token}

docs/open311-servers.md describes each and how to run it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal, Mapping, Sequence

from starlette.datastructures import URL, QueryParams

from council.validate import Rejected

Paging = Literal["client", "fixed", "none"]

#: What each endpoint of a closed-schema server accepts (mySociety's open311-adapter schemas):
#: anything else is refused, naming the parameters. A new request's `attribute[CODE]` keys are
#: checked against its service instead; an update takes none.
EXPECTED: Mapping[str, frozenset[str]] = MappingProxyType({
    "services": frozenset({"jurisdiction_id"}),
    "service_definition": frozenset({"jurisdiction_id"}),
    "search": frozenset({"jurisdiction_id", "service_request_id", "service_code", "start_date", "end_date",
                         "status"}),
    "one_request": frozenset({"jurisdiction_id"}),
    "tokens": frozenset({"jurisdiction_id"}),
    # FixMyStreet's client sends its api_key on this GET, and the adapter's schema takes it
    "updates": frozenset({"jurisdiction_id", "api_key", "start_date", "end_date"}),
    "create": frozenset({"jurisdiction_id", "api_key", "service_code", "lat", "long", "address_string",
                         "address_id", "email", "device_id", "account_id", "first_name", "last_name", "phone",
                         "description", "media_url"}),
    "post_update": frozenset({"jurisdiction_id", "api_key", "service_request_id", "update_id", "status",
                              "updated_datetime", "description", "email", "phone", "first_name", "last_name",
                              "title", "media_url", "account_id"}),
})


@dataclass(frozen=True)
class Profile:
    """One family of servers: every field defaults to the reference server's own behaviour."""

    name: str
    closed_schema: bool = False  # refuse parameters an endpoint does not expect (400, named)
    key_refusal: tuple[int, str] | None = None  # (status, message) for a missing or bad key; None: 403
    latlong_required: bool = False  # POST without lat/long is a 500, as an unguarded server answers
    store_address_string: bool = True
    ignored_search_filters: frozenset[str] = frozenset()  # dropped before searching
    paging: Paging = "client"  # client: page/page_size; fixed: own page size; none: one answer
    page_size: int | None = None  # fixed paging's size (or the default client page size)
    cap: int | None = None  # with paging "none": at most this many, the newest first
    xml_roots: Mapping[str, str] = field(default_factory=dict)  # spec root -> the root it writes
    xml_empty: Mapping[str, str] = field(default_factory=dict)  # root -> literal empty element
    description_limit: int | None = None  # stored descriptions cut to this many characters
    searchable: bool = True  # False: GET requests.{fmt} is 404
    token_mode: bool = False

    @property
    def newest_first(self) -> bool:
        """A capped server keeps the newest: lists come newest first, so the cap cuts the oldest."""
        return self.cap is not None

    def xml_root(self, root: str) -> str:
        return self.xml_roots.get(root, root)

    def check_parameters(self, endpoint: str, names: Sequence[str]) -> None:
        """Closed schema: Rejected(400) naming every parameter `endpoint` does not expect."""
        if not self.closed_schema:
            return
        unexpected = sorted(set(names) - EXPECTED[endpoint])
        if unexpected:
            raise Rejected(400, [f"Unexpected parameters: {', '.join(unexpected)}"])

    def page_for(self, query: QueryParams, default_size: int, max_size: int) -> "Page":
        """Which slice of a list this query asks for, under this profile's paging. `default_size`
        is the server's page size: the default of `page_size`, or fixed paging's only size."""
        if self.paging == "none":
            return Page(limit=self.cap, offset=0, page=1, fixed=False)
        if self.paging == "fixed":
            size = default_size
            text = query.get("page", "").strip() or "1"
            if not text.isdigit() or int(text) < 1:
                raise Rejected(404, ["Invalid page."])
            page = int(text)
            return Page(limit=size, offset=(page - 1) * size, page=page, fixed=True)
        size = min(_whole(query, "page_size", default_size), max_size)
        page = _whole(query, "page", 1)
        return Page(limit=size, offset=(page - 1) * size, page=page, fixed=False)


@dataclass(frozen=True)
class Page:
    limit: int | None  # None: everything
    offset: int
    page: int
    fixed: bool  # a server-sized page: check it exists and say how many there are

    def headers(self, total: int, url: URL) -> dict[str, str] | None:
        """Fixed paging's headers, or Rejected(404, "Invalid page.") past the last page
        (page 1 of an empty list exists, as in Django REST framework)."""
        if not self.fixed:
            return None
        assert self.limit is not None
        count = max(1, math.ceil(total / self.limit))
        if self.page > count:
            raise Rejected(404, ["Invalid page."])
        headers = {"X-Page-Count": str(count)}
        if self.page < count:
            headers["X-Next-Page-URL"] = str(url.include_query_params(page=self.page + 1))
        return headers


def _whole(query: QueryParams, name: str, default: int) -> int:
    text = query.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise Rejected(400, [f"{name} {text!r} is not a whole number"]) from None
    if value < 1:
        raise Rejected(400, [f"{name} must be 1 or more"])
    return value


PROFILES: Mapping[str, Profile] = MappingProxyType({profile.name: profile for profile in (
    Profile("default"),
    # a bridge validating every input against a closed schema
    Profile("strict", closed_schema=True, key_refusal=(400, "Invalid API key"), latlong_required=True,
            store_address_string=False,
            ignored_search_filters=frozenset({"start_date", "end_date", "service_request_id"}), paging="none"),
    # a Django REST framework server paging every list its own way
    Profile("paged", paging="fixed", page_size=100),
    # a server without paging that answers at most the newest 1,000 requests
    Profile("capped", paging="none", cap=1000),
    Profile("xml-bare", xml_roots={"service_requests": "requests"},
            xml_empty={"requests": "<requests></requests>", "services": "<services/>"}),
    # a back office whose description column holds 255 characters
    Profile("truncating", description_limit=255),
    Profile("unsearchable", searchable=False),
    # a batch server: POST answers a token, the id comes later
    Profile("tokens", token_mode=True),
)})


def profile_named(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}: one of {', '.join(PROFILES)}") from None
