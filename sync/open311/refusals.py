"""What a council's refusal of a request is about: this request (a person must look at it), a
service it no longer offers, or the back office's key or set-up (pause it, fail nothing).

Some servers answer a wrong key with 400 ("Invalid API key"), not 401/403, so the status code
alone cannot tell.
"""

from __future__ import annotations

import asyncio
import re
from typing import Awaitable, Callable

from sync.catalogue import Catalogue
from sync.open311.client import Open311Client
from sync.open311.outcomes import Refused, Transient, Unauthorised
from sync.store import Claimed

#: Words in a refusal that say it is about our credentials, whatever its status code.
KEY_WORDS = re.compile(r"api[ _-]?key|apikey|credential|unauthori[sz]ed|authenticat|forbidden", re.IGNORECASE)
#: Names a refusal about the request itself may use, whatever fields it had.
FIELD_WORDS = frozenset({"lat", "long", "address", "location", "service", "description", "attribute", "name",
                         "email", "phone"})


def names_a_field(message: str, fields: list[tuple[str, str]]) -> bool:
    """Whether a council's refusal names a field of the request (or its service code): then it is
    about this request, not about how the back office is set up."""
    text = message.lower()
    names = {name.split("[", 1)[0] for name, _ in fields} | {
        name[len("attribute["):].split("]", 1)[0] for name, _ in fields if name.startswith("attribute[")}
    names |= {value for name, value in fields if name == "service_code"}
    names |= FIELD_WORDS
    return any(re.search(rf"(?<![a-z0-9]){re.escape(name.lower())}(?![a-z0-9])", text) for name in names if name)


class Refusals:
    """The refusals of one batch: each verdict on a key is asked for once per back office and
    refusal, and the catalogue is fetched again once however many are refused (`refresh`)."""

    def __init__(self, refresh: Callable[[], Awaitable[Catalogue]]) -> None:
        self._refresh = refresh
        self._catalogue: asyncio.Future[Catalogue] | None = None
        self._verdicts: dict[tuple[str, str], asyncio.Future[bool]] = {}  # (back office, refusal) -> the key?

    async def reason(self, item: Claimed, outcome: Refused) -> str:
        """The council's words; for a code it no longer knows, say so."""
        if self._catalogue is None:
            self._catalogue = asyncio.ensure_future(self._refresh())
        try:
            current: Catalogue | None = await asyncio.shield(self._catalogue)
        except Transient:
            current = None
        if current is not None and current.get(item.service_code) is None:
            return f"the council no longer offers service {item.service_code!r} ({outcome.status}: {outcome.message})"
        return f"{outcome.status}: {outcome.message}"

    async def about_the_key(self, client: Open311Client, refusal: Refused, fields: list[tuple[str, str]]) -> bool:
        """Whether a refusal is about the back office's key or set-up rather than this request.

        A refusal that names a field of the request is about the request. One that names none is
        compared with the answer to a request with no fields at all (which no server can create):
        the same words mean the request was never looked at. Further POSTs to the back office
        wait for the verdict."""
        if names_a_field(refusal.message, fields):
            return False
        key = (client.name, refusal.message)
        if key not in self._verdicts:
            self._verdicts[key] = asyncio.ensure_future(_key_verdict(client, refusal))
        return await asyncio.shield(self._verdicts[key])


async def _key_verdict(client: Open311Client, refusal: Refused) -> bool:
    if KEY_WORDS.search(refusal.message):
        return True
    try:
        probe = await client.create([])
    except (Transient, Unauthorised) as error:
        return isinstance(error, Unauthorised)
    return isinstance(probe, Refused) and probe.message == refusal.message
