"""A submission's status history: what the council says of it, and what a resident may look up.

The council's statuses come in by the updates feed or by polling; each is recorded once, its
notes sealed (they may name the resident: sync/store/notes.py). A look-up by reference shows the
state and the history, never anything else personal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sync import reference as reference_module
from sync.store import db as db_module
from sync.store import notes as notes_module
from sync.store.base import StoreBase
from sync.store.times import iso, parse_iso


@dataclass(frozen=True)
class StatusEntry:
    status: str
    notes: str | None
    at: datetime
    source: str


@dataclass(frozen=True)
class Lookup:
    """What a status look-up may show: no personal data."""

    reference: str
    service_code: str
    state: str
    council_status: str | None
    created_at: datetime
    updated_at: datetime
    language: str
    history: tuple[StatusEntry, ...]


class History(StoreBase):
    def record_status(self, submission_id: int, status: str, notes: str | None, at: datetime | None = None,
                      *, closed: bool = False, external_id: str | None = None) -> bool:
        """Record a council status; returns False when nothing new was learnt (nothing written).

        An update with the council's own id is recorded once, however often it is fetched;
        without one, only a change from the last council status counts.
        """
        with db_module.write(self.db) as conn:
            if external_id is None:
                last = conn.execute("SELECT status, notes_sealed, notes FROM status_history WHERE submission_id = ? "
                                    "AND source = 'council' ORDER BY id DESC LIMIT 1", (submission_id,)).fetchone()
                if last and (last[0], notes_module.opened(self.vault, last[1], last[2])) == (status, notes):
                    return False
            when = iso(at) if at else self._now()
            inserted = conn.execute(
                "INSERT INTO status_history (submission_id, status, notes_sealed, at, source, external_id) "
                "VALUES (?, ?, ?, ?, 'council', ?) ON CONFLICT DO NOTHING",
                (submission_id, status, self.vault.seal(notes), when, external_id)).rowcount
            if not inserted:
                return False
            conn.execute("UPDATE submissions SET council_status = ?, updated_at = ?, closed_at = "
                         "CASE WHEN ? THEN coalesce(closed_at, ?) ELSE NULL END WHERE id = ?",
                         (status, self._now(), closed, when, submission_id))
        return True

    def seal_clear_notes(self) -> int:
        """Seal the council notes an earlier version kept in clear (the sync worker does, as it
        starts); resumable, and readers take either form meanwhile. Returns how many."""
        return notes_module.seal_clear(self.db, self.vault)

    def open_requests(self, backoffice: str) -> dict[str, int]:
        """Accepted, not yet closed requests bound for `backoffice`: the council's id -> ours."""
        return dict(self.db.conn.execute(
            "SELECT service_request_id, id FROM submissions WHERE backoffice = ? AND state = 'accepted' "
            "AND closed_at IS NULL", (backoffice,)).fetchall())

    def lookup(self, reference: str) -> Lookup | None:
        """The status of a submission made here, by its reference as a person typed it.

        History comes in the order it was learnt here: its times come from two clocks (ours and
        the council's), which can disagree by hours after a power cut."""
        canonical = reference_module.parse(reference)
        if canonical is None:
            return None
        row = self.db.conn.execute(
            "SELECT id, reference, service_code, state, council_status, created_at, updated_at, language "
            "FROM submissions WHERE reference = ?", (canonical,)).fetchone()
        if row is None:
            return None
        shown = reference_module.display(row[1])
        history = tuple(StatusEntry(status, notes_module.opened(self.vault, sealed, notes, reference=shown),
                                    parse_iso(at), source) for status, sealed, notes, at, source in
                        self.db.conn.execute("SELECT status, notes_sealed, notes, at, source FROM status_history "
                                             "WHERE submission_id = ? ORDER BY id", (row[0],)))
        return Lookup(reference=row[1], service_code=row[2], state=row[3], council_status=row[4],
                      created_at=parse_iso(row[5]), updated_at=parse_iso(row[6]), language=row[7], history=history)
