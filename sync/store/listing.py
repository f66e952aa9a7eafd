"""What staff see of the outbox: counts, ages, references and states, never anything personal.

`assist outbox list|show`, `assist sync status` and the kiosk's dashboard read these; a
submission's payload, contact details and the council's notes to the resident are never among them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sync import reference as reference_module
from sync.store.base import StoreBase
from sync.store.states import CLAIMABLE, STATES, sql_list
from sync.store.times import parse_iso

#: What staff may see of a submission: references, states, times, the council's id and status.
LISTED = ("reference", "state", "service_code", "channel", "created_at", "updated_at", "attempts", "last_error",
          "service_request_id", "council_status", "maybe_sent")
#: What `outline` adds for one submission.
_OUTLINED = ("backoffice", "first_sent_at", "accepted_at", "closed_at")


class Listing(StoreBase):
    def counts(self) -> dict[str, int]:
        found = dict(self.db.conn.execute("SELECT state, count(*) FROM submissions GROUP BY state").fetchall())
        return {state: found.get(state, 0) for state in STATES}

    def oldest_queued_at(self) -> datetime | None:
        row = self.db.conn.execute(f"SELECT min(created_at) FROM submissions WHERE state IN "
                                   f"({sql_list(CLAIMABLE)})").fetchone()
        return parse_iso(row[0]) if row[0] else None

    def listing(self, states: Iterable[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """References, states and ages for staff, with the council's id and last status (as of
        `updated_at`): never anything personal. `maybe_sent` is a bool."""
        chosen = list(states or STATES)
        rows = self.db.conn.execute(
            f"SELECT {', '.join(LISTED)} "
            f"FROM submissions WHERE state IN ({', '.join('?' * len(chosen))}) ORDER BY created_at LIMIT ?",
            (*chosen, limit)).fetchall()
        return [{**dict(zip(LISTED, row)), "maybe_sent": bool(row[-1])} for row in rows]

    def outline(self, reference: str) -> dict[str, Any] | None:
        """One submission for staff (`assist outbox show`): what `listing` shows, plus its back
        office, when it was first sent and accepted, what the worker did with it (outbox events)
        and its status history. Never anything personal: no payload, no contact, and the
        council's own status notes (written to the resident) are left out."""
        canonical = reference_module.parse(reference)
        row = self.db.conn.execute(
            f"SELECT id, {', '.join((*LISTED, *_OUTLINED))} FROM submissions WHERE reference = ?",
            (canonical,)).fetchone() if canonical else None
        if row is None:
            return None
        found = dict(zip((*LISTED, *_OUTLINED), row[1:]))
        found["maybe_sent"] = bool(found["maybe_sent"])
        found["events"] = [dict(zip(("at", "kind", "detail"), event)) for event in self.db.conn.execute(
            "SELECT at, kind, detail FROM outbox_events WHERE submission_id = ? ORDER BY id", (row[0],))]
        found["history"] = [{"at": at, "status": status, "source": source,
                             "notes": notes if source == "local" else None} for status, notes, at, source in
                            self.db.conn.execute("SELECT status, notes, at, source FROM status_history "
                                                 "WHERE submission_id = ? ORDER BY id", (row[0],))]
        return found
