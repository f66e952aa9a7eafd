"""Personal data: the few reads of it in clear, and its purge.

Contact details go once the council has the request; the texting number once it is closed;
everything personal in a finished submission after the retention period (what the resident told
us, the reasons it was refused or cancelled, every note in its history, who helped). Then the
write-ahead log is cut, so no clear copy is left on disk.
"""

from __future__ import annotations

from typing import Any

from sync import reference as reference_module
from sync.store import db as db_module
from sync.store import notes as notes_module
from sync.store.base import StoreBase
from sync.store.db import Conn
from sync.store.followups import purge_hook
from sync.store.states import FINISHED, PURGED_VOLUNTEER, TransitionError, sql_list
from sync.store.times import iso


class Retention(StoreBase):
    def purge(self) -> dict[str, int]:
        """Purge what may go: contact details of accepted requests (a safety net: acceptance
        already purges them), the texting number once a request is closed, and everything
        personal in finished submissions older than the retention period: what the resident
        told us, the reasons it was refused or cancelled (in the submission, its history and the
        staff audit log), every note in its history, and the volunteer's name (that one helped is
        kept). A store purged by an earlier version, which left those reasons and names, is
        caught up. Then the write-ahead log is cut, so no clear copy is left on disk."""
        now = self._now()
        cutoff = iso(self.clock() - self.retention)
        with db_module.write(self.db) as conn:
            followups = purge_hook(self.vault, conn, cutoff, now, before=True)
            contact = conn.execute("UPDATE submissions SET contact = NULL, contact_purged_at = ? "
                                   "WHERE state = 'accepted' AND contact IS NOT NULL", (now,)).rowcount
            closed = conn.execute("UPDATE submissions SET notify_phone = NULL WHERE closed_at IS NOT NULL "
                                  "AND notify_phone IS NOT NULL").rowcount
            expired = conn.execute(
                f"UPDATE submissions SET payload = NULL, contact = NULL, notify_phone = NULL, last_error = NULL, "
                f"cancel_reason = NULL, assisted_by = CASE WHEN assisted_by IS NULL THEN NULL ELSE ? END, "
                f"purged_at = coalesce(purged_at, ?), contact_purged_at = coalesce(contact_purged_at, ?) "
                f"WHERE state IN ({sql_list(FINISHED)}) AND created_at < ? AND (purged_at IS NULL "
                f"OR last_error IS NOT NULL OR cancel_reason IS NOT NULL OR assisted_by != ?) RETURNING id, reference",
                (PURGED_VOLUNTEER, now, now, cutoff, PURGED_VOLUNTEER)).fetchall()
            notes = notes_module.purge(conn, [row_id for row_id, _ in expired], cutoff)
            reasons = _purge_audited_reasons(conn, {reference_module.display(ref) for _, ref in expired})
            followups |= purge_hook(self.vault, conn, cutoff, now, before=False)
        counts = {"contact": contact, "notify_phone": closed, "expired": len(expired), "notes": notes,
                  "audited_reasons": reasons, **followups}
        if any(counts.values()):
            db_module.truncate_wal(self.db)
        return counts

    def personal(self, reference: str) -> dict[str, Any]:
        """The decrypted personal fields of one submission, for the few places that need them."""
        canonical = reference_module.parse(reference)
        row = self.db.conn.execute("SELECT payload, contact, notify_phone FROM submissions WHERE reference = ?",
                                   (canonical,)).fetchone()
        if row is None:
            raise TransitionError(f"no submission with reference {reference}")
        return {"payload": self.vault.open(row[0]), "contact": self.vault.open(row[1]),
                "notify_phone": self.vault.open(row[2])}


def _purge_audited_reasons(conn: Conn, shown: set[str]) -> int:
    """Staff's cancel reasons and resend notes in the audit log (`detail`, by reference) of the
    submissions purged just now. Who did what, and when, is kept."""
    if not shown:
        return 0
    ids = [(row_id,) for row_id, subject in conn.execute(
        "SELECT id, subject FROM audit_log WHERE action IN ('cancel', 'resend') AND detail IS NOT NULL")
        if subject in shown]
    conn.executemany("UPDATE audit_log SET detail = NULL WHERE id = ?", ids)
    return len(ids)
