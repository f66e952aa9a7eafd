"""Finding a submission whose answer was lost among the council's requests, by the reference in
its description, so that it is adopted rather than sent twice (docs/sync.md).

A search that misses a request proves nothing unless the same search finds one the council is
known to have accepted from here: a server that truncates descriptions, filters dates on another
field or cuts its answers short would otherwise get a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sync import reference as reference_module
from sync.config import SyncSettings
from sync.open311.client import Open311Client
from sync.open311.formats import as_text
from sync.open311.outcomes import NotFound, Transient, Unauthorised, Unsearchable
from sync.open311.paging import paging_to_json
from sync.store import Claimed, Store

log = logging.getLogger("sync.open311.worker")

#: Open311 servers default to (and some insist on) a window of at most 90 days.
SEARCH_WINDOW_MAX = timedelta(days=89)
#: After this many failed searches in a row, how the server pages is learnt again.
SEARCH_RELEARN_AFTER = 3
RECONCILED_NOTE = "found at the council after a lost answer"
GIVE_UP_REASON = "sent, but the answer was lost and the council cannot be searched: check with the council"

SearchFailure = Unsearchable | Transient | Unauthorised


@dataclass(frozen=True)
class Lookup:
    """What looking for one ambiguous submission at the council gave: the council's id where it
    is there, the failure that stopped the search, or neither: proved absent, so it may be sent."""

    council_id: str | None = None
    failure: SearchFailure | None = None


ABSENT = Lookup()


def save_paging(store: Store, client: Open311Client) -> None:
    """Keep what the client learnt of its server's paging, where `assist sync status` shows it."""
    if client.paging_changed:
        client.paging_changed = False
        store.set_search_state(client.name, mode=paging_to_json(client.paging))
        log.info("%s: %s", client.name, "; ".join(f"{name} {paging.describe()}"
                                                 for name, paging in sorted(client.paging.items())))


def references(found: list[dict[str, Any]]) -> dict[str, str]:
    """Our references in the council's descriptions, each with the council's id."""
    present: dict[str, str] = {}
    for record in found:
        request_id = as_text(record.get("service_request_id"))
        if request_id is None:
            continue
        for ref in reference_module.find_in(str(record.get("description") or "")):
            present.setdefault(ref, request_id)
    return present


class Reconciler:
    """Looks for ambiguous submissions, one search per back office and service, and keeps count
    of each back office's failed searches across batches."""

    def __init__(self, store: Store, sync: SyncSettings) -> None:
        self.store = store
        self.sync = sync
        self._failures: dict[str, int] = {}

    async def look_for(self, items: list[Claimed], client_for: Callable[[Claimed], Open311Client]
                       ) -> dict[int, Lookup]:
        """For each ambiguous submission (by id), what the search of its back office gave."""
        groups: dict[tuple[str, str], tuple[Open311Client, list[Claimed]]] = {}
        for item in items:
            client = client_for(item)
            groups.setdefault((client.name, item.service_code), (client, []))[1].append(item)
        results = await asyncio.gather(*(self._reconcile(client, code, group)
                                         for (_, code), (client, group) in groups.items()))
        return {item_id: value for result in results for item_id, value in result.items()}

    async def _reconcile(self, client: Open311Client, service_code: str, items: list[Claimed]) -> dict[int, Lookup]:
        """Look for submissions whose answers were lost among the council's requests.

        What the search finds is adopted. What it does not find is taken as absent only where the
        same search finds a request the council already accepted from here (or, lacking one for
        this service, the back office's searches have found one since the catalogue was last
        fetched)."""
        try:
            present, control, proven = await self._search(client, service_code, items)
        except (Unsearchable, Transient, Unauthorised, NotFound) as error:
            failure = Unsearchable("the council's server has no search of requests (404)") \
                if isinstance(error, NotFound) else error
            self._search_failed(client, failure)
            return {item.id: Lookup(failure=failure) for item in items}
        finally:
            save_paging(self.store, client)
        found = {item.id: present[item.reference] for item in items if item.reference in present}
        for item in items:
            self.store.log_event(item.id, "search", f"{client.name}: found as {found[item.id]}" if item.id in found
                                 else f"{client.name}: not found" + ("" if proven else " (the search is not proven)"))
        if not proven:
            why = (f"its search did not find {reference_module.display(control[0])}, which it accepted as "
                   f"{control[2]}" if control is not None else "no search has yet found a request it accepted")
            self._search_failed(client, Unsearchable(why))
            return {item.id: Lookup(council_id=found[item.id]) if item.id in found
                    else Lookup(failure=Unsearchable(why)) for item in items}
        self._failures.pop(client.name, None)
        self.store.set_search_state(client.name, verified=True, working=True)
        return {item.id: Lookup(council_id=found[item.id]) if item.id in found else ABSENT for item in items}

    async def _search(self, client: Open311Client, service_code: str, items: list[Claimed]
                      ) -> tuple[dict[str, str], tuple[str, str, str] | None, bool]:
        """The references the council has (with its ids), the request accepted from here that
        proves the search (if there is one for this service), and whether the search is proven.

        The window is taken from the council's clock and is generous: the oldest first send's age
        by our clock (which can be hours wrong after a power cut) plus a day, and at least
        `sync.reconcile_days`."""
        now = self.store.clock()
        if client.server_now() is None:
            await client.services_checked()  # brings the council's clock in its Date header
        server_now = client.server_now() or datetime.now(timezone.utc)
        oldest = min(item.first_sent_at or item.created_at for item in items)
        back = min(max(max(timedelta(0), now - oldest) + timedelta(days=1),
                       timedelta(days=self.sync.reconcile_days)), SEARCH_WINDOW_MAX)
        control = self.store.proof_candidate(client.name, service_code, now - back + timedelta(days=1))
        found = await client.search(self.store.catalogue().council_code(service_code), server_now - back,
                                    server_now + timedelta(hours=1))
        present = references(found)
        proven = control[0] in present if control is not None else await self._search_proven(client, now)
        return present, control, proven

    async def _search_proven(self, client: Open311Client, now: datetime) -> bool:
        """Whether this back office's search has found a request it accepted from here, since the
        catalogue was last fetched (which forgets it). Tried once on a recent one if not."""
        if self.store.backoffice_states().get(client.name, {}).get("search_verified_at"):
            return True
        control = self.store.proof_candidate(client.name, None, now - SEARCH_WINDOW_MAX)
        if control is None:
            return False
        server_now = client.server_now() or datetime.now(timezone.utc)
        found = await client.search(self.store.catalogue().council_code(control[1]),
                                    server_now - SEARCH_WINDOW_MAX, server_now + timedelta(hours=1))
        return control[0] in references(found)

    def _search_failed(self, client: Open311Client, error: SearchFailure) -> None:
        """Say so where staff look (`assist sync status`); after a few failures in a row, forget how
        the server pages, so the next search learns it again."""
        if isinstance(error, Transient) and not error.reachable:
            return
        reason = error.reason if isinstance(error, Transient) else str(error)
        self.store.set_search_state(client.name, failing=reason, verified=False)
        failures = self._failures[client.name] = self._failures.get(client.name, 0) + 1
        if failures % SEARCH_RELEARN_AFTER == 0:
            client.forget("requests")
