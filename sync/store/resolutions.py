"""Resolving a submission that may already be at the council: staff say whether it is.

A lost answer never reconciled leaves a submission `needs_attention` and maybe sent; only a person
can find out. At the command line they adopt the council's id (checked there first, by
sync.open311.resolve) or say it is not there; at the kiosk, which never calls out, a supervisor's
"it is there as ID" is left here for the sync worker to check and decide.
"""

from __future__ import annotations

from typing import Any

from sync import reference as reference_module
from sync.store import db as db_module
from sync.store.base import StoreBase, shown
from sync.store.db import Conn
from sync.store.states import TransitionError

#: What `last_resolution` tells of one.
_RESOLUTION = ("council_id", "requested_by", "requested_at", "outcome", "reason")


class Resolutions(StoreBase):
    def _attention(self, conn: Conn, reference: str) -> int:
        """The id of a submission staff may resolve: one in `needs_attention`, else TransitionError."""
        submission_id = self._id_for(conn, reference)
        state = conn.execute("SELECT state FROM submissions WHERE id = ?", (submission_id,)).fetchone()[0]
        if state != "needs_attention":
            raise TransitionError(f"{shown(reference)} is {state}: only a request that needs attention can be resolved")
        return submission_id

    def resolve_at_council(self, reference: str, council_id: str, *, note: str,
                           council_status: str | None = None) -> None:
        """Staff found a `needs_attention` submission at the council: adopt the council's id.

        The caller has checked `council_id` at the council (sync.open311.resolve); this is the change:
        accepted, maybe-sent cleared, the contact details purged as on any acceptance, and the
        adoption kept in the history and the outbox events."""
        council_id = _council_id(council_id)
        now = self._now()
        with db_module.write(self.db) as conn:
            submission_id = self._attention(conn, reference)
            self._move(conn, submission_id, None, "accepted", {
                "service_request_id": council_id, "accepted_at": now, "council_status": council_status or "open",
                "maybe_sent": 0, "last_error": None, "lease_owner": None, "lease_expires_at": None,
                "contact": None, "contact_purged_at": now,
            }, history=("accepted", note))
            self._event(conn, submission_id, "resolved", f"at the council as {council_id}")

    def resolve_not_at_council(self, reference: str, *, note: str) -> None:
        """Staff are sure a `needs_attention` submission is not at the council (maybe sent or
        not): queue it again as it is, with maybe-sent cleared."""
        with db_module.write(self.db) as conn:
            submission_id = self._attention(conn, reference)
            self._move(conn, submission_id, None, "queued", {"maybe_sent": 0, "next_attempt_at": self._now(),
                                                              "last_error": None}, history=("queued", note))
            self._event(conn, submission_id, "resolved", "not at the council: queued again")

    def request_resolution(self, reference: str, council_id: str, requested_by: str) -> None:
        """Leave a staff member's "it is at the council as `council_id`" for the sync worker to
        check there (the kiosk never calls out). It replaces one still pending for the same
        submission."""
        council_id = _council_id(council_id)
        with db_module.write(self.db) as conn:
            submission_id = self._attention(conn, reference)
            conn.execute("DELETE FROM resolutions WHERE submission_id = ? AND outcome IS NULL", (submission_id,))
            conn.execute("INSERT INTO resolutions (submission_id, council_id, requested_by, requested_at) "
                         "VALUES (?, ?, ?, ?)", (submission_id, council_id, requested_by, self._now()))
            self._event(conn, submission_id, "resolve_asked", f"council id {council_id}, to be checked")

    def pending_resolutions(self) -> list[dict[str, Any]]:
        """Resolutions waiting for the worker, oldest first, with what checking them needs."""
        keys = ("id", "council_id", "requested_by", "reference", "state", "service_code", "backoffice")
        return [dict(zip(keys, row)) for row in self.db.conn.execute(
            "SELECT r.id, r.council_id, r.requested_by, s.reference, s.state, s.service_code, s.backoffice "
            "FROM resolutions r JOIN submissions s ON s.id = r.submission_id WHERE r.outcome IS NULL ORDER BY r.id")]

    def decide_resolution(self, resolution_id: int, outcome: str, reason: str | None = None) -> None:
        """Record what the check of a pending resolution found (a refusal's reason is shown to
        staff on the dashboard). An accepted one is adopted by the caller in the same transaction."""
        if outcome not in ("accepted", "refused"):
            raise ValueError(f"unknown resolution outcome {outcome!r}")
        with db_module.write(self.db) as conn:
            row = conn.execute("UPDATE resolutions SET outcome = ?, reason = ?, decided_at = ? WHERE id = ? "
                               "AND outcome IS NULL RETURNING submission_id, council_id",
                               (outcome, reason, self._now(), resolution_id)).fetchone()
            if row is not None and outcome == "refused":
                self._event(conn, row[0], "resolve_refused", f"council id {row[1]}: {reason}")

    def last_resolution(self, reference: str) -> dict[str, Any] | None:
        """The latest resolution asked for a submission: council_id, requested_by, requested_at,
        outcome (None while pending) and reason."""
        row = self.db.conn.execute(
            f"SELECT {', '.join('r.' + key for key in _RESOLUTION)} FROM resolutions r JOIN submissions s "
            "ON s.id = r.submission_id WHERE s.reference = ? ORDER BY r.id DESC LIMIT 1",
            (reference_module.parse(reference),)).fetchone()
        return dict(zip(_RESOLUTION, row)) if row else None


def _council_id(council_id: str) -> str:
    """The council's id as staff gave it, trimmed; an empty one is refused (ValueError)."""
    council_id = str(council_id).strip()
    if not council_id:
        raise ValueError("the council's id is empty")
    return council_id
