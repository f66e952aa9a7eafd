"""Staff's changes to a submission: cancel it with a reason, or correct it and send it again.

Staff act through sync.store.volunteers, which checks who may and audits each change in the same
transaction; these methods are the changes themselves. A submission that may already be at the
council is never sent again by hand (MaybeSent): it is resolved instead (sync/store/resolutions.py).
"""

from __future__ import annotations

from typing import Any

from sync.store import db as db_module
from sync.store.base import StoreBase, shown
from sync.store.states import MaybeSent, TransitionError


class Corrections(StoreBase):
    def cancel(self, reference: str, reason: str) -> None:
        """Staff cancel a submission that has not gone, with a reason kept in its history."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a cancellation needs a reason, kept in the request's history")
        with db_module.write(self.db) as conn:
            submission_id = self._id_for(conn, reference)
            leased = conn.execute("SELECT 1 FROM submissions WHERE id = ? AND lease_owner IS NOT NULL "
                                  "AND lease_expires_at > ?", (submission_id, self._now())).fetchone()
            if leased:  # a worker or an exporter holds it: it may be on its way, here or by hand
                raise TransitionError(f"{shown(reference)} is being sent or exported just now; "
                                      "try again in a few minutes")
            self._move(conn, submission_id, None, "cancelled", {"cancel_reason": reason, "lease_owner": None,
                                                                 "lease_expires_at": None},
                       history=("cancelled", reason))

    def requeue(self, reference: str, note: str) -> None:
        """Staff send a `needs_attention` submission again, once the council's reason is dealt with."""
        self.correct(reference, note=note)

    def correct(self, reference: str, *, location: dict[str, Any] | None = None,
                attributes: dict[str, Any] | None = None, description: str | None = None, note: str) -> None:
        """Correct a `needs_attention` submission and queue it again, in one transaction.

        Only what is given changes: `location` and `description` replace the old ones, and
        `attributes` are merged into the old ones (a None value removes that attribute). The
        payload is sealed again and `note` goes into the history. Any other state is refused
        with TransitionError: a submission that may be at the council must never be sent twice.
        """
        with db_module.write(self.db) as conn:
            submission_id = self._id_for(conn, reference)
            state, sealed, maybe_sent = conn.execute("SELECT state, payload, maybe_sent FROM submissions WHERE id = ?",
                                                     (submission_id,)).fetchone()
            named = shown(reference)
            if state != "needs_attention":
                raise TransitionError(f"{named} is {state}: "
                                      "only a request that needs attention can be corrected or sent again")
            if maybe_sent:
                raise MaybeSent(f"{named} may already be at the council (an answer was lost or unreadable), so "
                                "sending it again could make a duplicate. Look for it there, then run "
                                f"`assist outbox resolve {named} --council-id ID` if it is there, or "
                                f"`assist outbox resolve {named} --not-at-council` if it is not")
            changes: dict[str, Any] = {"next_attempt_at": self._now(), "last_error": None}
            if location is not None or attributes is not None or description is not None:
                changes["payload"] = self.vault.seal(_corrected(self.vault.open(sealed), location, attributes,
                                                                description))
            self._move(conn, submission_id, None, "queued", changes, history=("queued", note or None))


def _corrected(payload: dict[str, Any], location: dict[str, Any] | None, attributes: dict[str, Any] | None,
               description: str | None) -> dict[str, Any]:
    """`payload` with what staff gave changed: the location and description replaced, the
    attributes merged (a None value removes that attribute)."""
    if location is not None:
        payload["location"] = dict(location)
    if attributes is not None:
        merged = {**(payload.get("attributes") or {}), **attributes}
        payload["attributes"] = {code: value for code, value in merged.items() if value is not None}
    if description is not None:
        payload["description"] = description
    return payload
