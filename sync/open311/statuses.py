"""Bringing the council's progress on each open request back into its status history, and
texting the residents who asked for news.

FixMyStreet's `servicerequestupdates` feed is asked first (one call for every change since the
last); a back office without it (404) is asked request by request from then on.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sync.config import Settings
from sync.open311.client import Open311Client
from sync.open311.formats import as_text, parse_when
from sync.open311.outcomes import NotFound, Transient
from sync.open311.reachability import Reachability
from sync.store import Store
from sync.texting import notices

#: Open311 and FixMyStreet statuses after which nothing more will happen to a request.
CLOSED_STATUSES = frozenset({"closed", "fixed", "duplicate", "not_councils_responsibility", "no_further_action",
                             "cancelled", "internal_referral", "unable_to_fix"})
#: How many ids one GET requests asks about.
ID_BATCH = 50


class StatusPuller:
    def __init__(self, store: Store, settings: Settings, reachability: Reachability) -> None:
        self.store = store
        self.settings = settings
        self.reachability = reachability
        self.no_updates: set[str] = set()  # back offices that answered 404 to the updates feed

    async def pull(self, clients: Mapping[str, Open311Client]) -> int:
        """Each back office's news of its open requests; returns how many changes were recorded."""
        changes = 0
        for name, client in clients.items():
            open_requests = self.store.open_requests(name)
            if not open_requests:
                continue
            try:
                changes += await self._pull_one(name, client, open_requests)
            except Transient as error:
                self.reachability.note(name, error.reachable, error.reason)
        return changes

    async def _pull_one(self, name: str, client: Open311Client, open_requests: dict[str, int]) -> int:
        if name not in self.no_updates:
            try:
                return await self._pull_updates(name, client, open_requests)
            except NotFound:
                self.no_updates.add(name)
        return await self._pull_requests(client, open_requests)

    async def _pull_requests(self, client: Open311Client, open_requests: dict[str, int]) -> int:
        ids = list(open_requests)
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), ID_BATCH):
            for record in await client.requests_by_id(ids[start:start + ID_BATCH]):
                if (request_id := as_text(record.get("service_request_id"))) in open_requests:
                    found[str(request_id)] = record
        for request_id in ids:  # some servers answer a list of ids with one request only
            if request_id not in found and (one := await client.request(request_id)) is not None:
                found[request_id] = one
        changes = 0
        for request_id, record in found.items():
            status = str(record.get("status") or "open").lower()
            changes += self._record(open_requests[request_id], status, as_text(record.get("status_notes")),
                                    parse_when(record.get("updated_datetime")))
        return changes

    async def _pull_updates(self, name: str, client: Open311Client, open_requests: dict[str, int]) -> int:
        server_now = client.server_now() or datetime.now(timezone.utc)
        since = self.store.updates_checked_until(name) or server_now - timedelta(days=self.settings.sync.reconcile_days)
        updates = await client.updates(since - timedelta(minutes=5), server_now + timedelta(minutes=5))
        changes = 0
        for update in sorted(updates, key=lambda u: str(u.get("updated_datetime") or "")):
            request_id = as_text(update.get("service_request_id"))
            if request_id is None or request_id not in open_requests:
                continue
            status = str(update.get("status") or "open").lower()
            changes += self._record(open_requests[request_id], status, as_text(update.get("description")),
                                    parse_when(update.get("updated_datetime")),
                                    external_id=as_text(update.get("update_id")))
        self.store.set_updates_checked_until(name, client.server_now() or server_now)
        return changes

    def _record(self, submission_id: int, status: str, notes: str | None, at: datetime | None,
                external_id: str | None = None) -> bool:
        """Record the council's news and, if it is news, text the resident who asked for texts."""
        recorded = self.store.record_status(submission_id, status, notes, at, closed=status in CLOSED_STATUSES,
                                            external_id=external_id)
        if recorded:
            notices.queue_status_text(self.store, submission_id, status, notes, settings=self.settings)
        return recorded
