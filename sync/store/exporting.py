"""Carrying queued submissions away in an export file, for a machine that will never get online.

An exporter leases what it writes out, so no worker sends it meanwhile; once the file is safely
written they are `exported` and travel by hand, never from here. Submissions in `sending` are
never exported: they may already be at the council.
"""

from __future__ import annotations

from typing import Any, Iterable

from sync.store import db as db_module
from sync.store.base import StoreBase
from sync.store.times import iso

#: The columns an export file carries in clear (within its own sealed envelope), before the sealed ones.
_EXPORTED = ("reference", "idempotency_key", "channel", "device_id", "language", "catalogue_version",
             "service_code", "created_at", "assisted_by", "assist_consent")


class Exporting(StoreBase):
    def hold_for_export(self, owner: str) -> list[dict[str, Any]]:
        """Lease every queued submission to an exporter, so no worker sends one while it is
        written out, and return them whole (decrypted) for sealing into the export file."""
        now = self._now()
        until = iso(self.clock() + self.lease)
        with db_module.write(self.db) as conn:
            rows = conn.execute(
                f"UPDATE submissions SET lease_owner = ?, lease_expires_at = ? WHERE state = 'queued' "
                f"AND (lease_expires_at IS NULL OR lease_expires_at <= ?) RETURNING {', '.join(_EXPORTED)}, "
                "payload, contact, notify_phone", (owner, until, now)).fetchall()
        held = ({**dict(zip(_EXPORTED, row)), "payload": self.vault.open(row[-3]), "contact": self.vault.open(row[-2]),
                 "notify_phone": self.vault.open(row[-1])} for row in rows)
        return sorted(held, key=lambda record: str(record["created_at"]))

    def mark_exported(self, references: Iterable[str], owner: str, note: str) -> None:
        """The export file is safely written: these will travel by hand, never from here. Their
        sealed data stays until the retention period, in case the stick is lost on the way."""
        with db_module.write(self.db) as conn:
            for reference in references:
                submission_id = self._id_for(conn, reference)
                self._move(conn, submission_id, owner, "exported", {"lease_owner": None, "lease_expires_at": None},
                           history=("exported", note))
