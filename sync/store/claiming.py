"""Claiming due submissions for a worker: atomically, with a lease, and past any damaged row.

No two owners get the same submission; a lease lapses when its worker crashes, so another takes
it up. A submission whose sealed details do not open is set aside for staff as it is claimed,
so one damaged row never stops the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sync import reference as reference_module
from sync.store import db as db_module
from sync.store.sending import Sending
from sync.store.states import CLAIMABLE, UNOPENABLE, UNOPENABLE_ERRORS, sql_list, was_sent
from sync.store.times import iso, parse_iso

log = logging.getLogger(__name__)

#: The columns a claim leases and returns, in the order `Claimed` is built from.
_CLAIMED = ("id, reference, state, service_code, backoffice, attempts, token, created_at, first_sent_at, device_id, "
            "payload, contact, assisted_by")


@dataclass(frozen=True)
class Claimed:
    """A submission a worker holds the lease on, with what it needs to send it."""

    id: int
    reference: str
    state: str
    service_code: str
    backoffice: str
    attempts: int
    token: str | None
    created_at: datetime
    first_sent_at: datetime | None
    device_id: str
    payload: dict[str, Any]
    contact: dict[str, str] | None
    assisted_by: str | None = None  # the volunteer who helped, if one did

    @property
    def ambiguous(self) -> bool:
        """A request may already have reached the council: reconcile before sending again."""
        return self.state == "sending"


class Claiming(Sending):
    def claim(self, owner: str, limit: int = 10, *, backoffices: Iterable[str] | None = None,
              due_by: datetime | None = None, include_paused: bool = False) -> list[Claimed]:
        """Take the lease on up to `limit` due submissions, atomically: no two owners get the same one.

        Due means claimable, with its next attempt time passed (or passed by `due_by`), not
        leased (or the lease has lapsed, as it does when a worker crashes), and not bound for a
        paused back office (unless probing it with `include_paused`).

        A submission whose sealed details cannot be opened is not returned: it is quarantined
        (`needs_attention`, see `_quarantine`) and the claim goes on, so one damaged row never
        stops the rest, nor comes back to stop the next run.
        """
        while True:
            rows = self._lease(owner, limit, backoffices=backoffices, due_by=due_by, include_paused=include_paused)
            claimed, unreadable = [], []
            for row in rows:
                try:
                    claimed.append(self._opened(row))
                except UNOPENABLE_ERRORS:
                    unreadable.append(row)
            if unreadable:
                self._quarantine(unreadable, owner)
            if claimed or not unreadable:  # all of this batch quarantined: take the next one
                return sorted(claimed, key=lambda item: item.id)

    def _opened(self, row: tuple[Any, ...]) -> Claimed:
        """A leased row with its sealed details opened (or one of UNOPENABLE_ERRORS)."""
        payload, contact = self.vault.open(row[10]) or {}, self.vault.open(row[11])
        return Claimed(id=row[0], reference=row[1], state=row[2], service_code=row[3], backoffice=row[4],
                       attempts=row[5], token=row[6], created_at=parse_iso(row[7]),
                       first_sent_at=parse_iso(row[8]) if row[8] else None, device_id=row[9], payload=payload,
                       contact=contact, assisted_by=row[12])

    def _lease(self, owner: str, limit: int, *, backoffices: Iterable[str] | None, due_by: datetime | None,
               include_paused: bool) -> list[tuple[Any, ...]]:
        """The leasing half of `claim`: the rows just leased to `owner`, still sealed."""
        now = self._now()
        until = iso(self.clock() + self.lease)
        due = iso(due_by) if due_by else now
        scope, params = "", []
        if not include_paused:
            scope = "AND backoffice NOT IN (SELECT name FROM backoffice_state WHERE paused = 1)"
        if backoffices is not None:
            names = list(backoffices)
            scope += f" AND backoffice IN ({', '.join('?' * len(names))})"
            params = names
        # On PostgreSQL several workers claim at once: each skips the rows another is leasing
        # (SKIP LOCKED), instead of waiting for the store's write lock. SQLite has one writer.
        skip_locked = " FOR UPDATE SKIP LOCKED" if self.db.on_postgres else ""
        with db_module.write(self.db, exclusive=False) as conn:
            return conn.execute(f"""
                UPDATE submissions SET lease_owner = ?, lease_expires_at = ?
                WHERE id IN (
                    SELECT id FROM submissions
                    WHERE state IN ({sql_list(CLAIMABLE)}) AND next_attempt_at <= ?
                      AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                      {scope}
                    ORDER BY next_attempt_at, id LIMIT ?{skip_locked})
                RETURNING {_CLAIMED}""", (owner, until, due, now, *params, limit)).fetchall()

    def _quarantine(self, rows: list[tuple[Any, ...]], owner: str) -> None:
        """Submissions whose sealed details do not open (a damaged byte, or sealed under another
        key) go to staff, maybe sent if they had been sent, each with one line by reference. Their
        sealed columns are left as they are, for whoever can recover the key or restore a backup."""
        with db_module.write(self.db) as conn:
            for row in rows:
                self.mark_needs_attention(row[0], owner, UNOPENABLE, maybe_sent=was_sent(row[2], row[8]))
                self._event(conn, row[0], "unopenable", UNOPENABLE)
        for row in rows:
            log.error("%s: %s; it needs attention%s", reference_module.display(row[1]), UNOPENABLE,
                      " (it may be at the council already)" if was_sent(row[2], row[8]) else "")

    def unopenable(self) -> int:
        """How many submissions wait for staff because they cannot be opened (`assist sync status`)."""
        return int(self.db.conn.execute("SELECT count(*) FROM submissions WHERE state = 'needs_attention' AND "
                                        "last_error = ?", (UNOPENABLE,)).fetchone()[0])
