"""Saving a resident's submission: durably, with its reference, in one transaction.

Only once this has committed (with its first status row, under synchronous=FULL) is the
resident told it is saved. Personal data is sealed with the store key before it is written.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sync import reference as reference_module
from sync.flow import Draft
from sync.store import db as db_module
from sync.store.base import StoreBase
from sync.store.db import Conn
from sync.store.states import ASSIST_CONSENTS, CHANNELS
from sync.store.times import iso

log = logging.getLogger(__name__)

#: Fresh references tried when one is taken: eight collisions in 2 x 10**13 mean a broken random source.
REFERENCE_TRIES = 8


@dataclass(frozen=True)
class Saved:
    id: int
    reference: str
    created: bool  # False when the idempotency key was already here: nothing was added

    @property
    def display_reference(self) -> str:
        return reference_module.display(self.reference)


class Saving(StoreBase):
    def enqueue(self, draft: Draft, *, reference: str | None = None, created_at: datetime | None = None,
                device_id: str | None = None, history_note: str = "") -> Saved:
        """Save a submission durably and give it a reference, in one transaction.

        A draft whose idempotency key is already here is not added again: the existing one is
        returned with `created=False`. `reference`, `created_at` and `device_id` are given only
        when a submission made elsewhere is imported here.
        """
        _check_draft(draft)
        row = self._row(draft, created_at, device_id)
        # Nothing here reads before it writes but the idempotency key's look-up, which its unique
        # index settles: on PostgreSQL, saves from several processes need not wait for one another.
        with db_module.write(self.db, exclusive=False) as conn:
            inserted = self._insert(conn, row, reference)
            if inserted is None:
                existing = conn.execute("SELECT id, reference FROM submissions WHERE idempotency_key = ?",
                                        (row["idempotency_key"],)).fetchone()
                return Saved(existing[0], existing[1], created=False)
            submission_id, saved_reference = inserted
            self._history(conn, submission_id, "queued", history_note or None, "local")
        log.info("saved %s (%s, %s)", reference_module.display(saved_reference), draft.service_code, draft.channel)
        return Saved(submission_id, saved_reference, created=True)

    def _row(self, draft: Draft, created_at: datetime | None, device_id: str | None) -> dict[str, Any]:
        """The submission's columns, its personal data sealed (all but its reference)."""
        now = self._now()
        row: dict[str, Any] = {
            "idempotency_key": draft.idempotency_key or str(uuid.uuid4()), "channel": draft.channel,
            "device_id": device_id or self.device_id, "language": draft.language,
            "catalogue_version": draft.catalogue_version, "service_code": draft.service_code,
            "backoffice": self.route(draft.service_code), "state": "queued",
            "payload": self.vault.seal({"location": draft.location, "attributes": draft.attributes,
                                        "description": draft.description}),
            "contact": self.vault.seal(draft.contact or None),
            "notify_phone": self.vault.seal(draft.notify_phone),
            "created_at": iso(created_at) if created_at else now, "updated_at": now, "next_attempt_at": now,
        }
        if draft.assisted_by is not None:  # unassisted: the columns' NULLs say so
            row |= {"assisted_by": draft.assisted_by, "assist_consent": draft.assist_consent}
        return row

    @staticmethod
    def _insert(conn: Conn, row: dict[str, Any], reference: str | None) -> tuple[int, str] | None:
        """Insert `row` under `reference`, or under a fresh one (another if it is taken); its id
        and reference, or None when its idempotency key is here already."""
        for _ in range(REFERENCE_TRIES):
            chosen = reference or reference_module.new_reference()
            # Either unique column may be taken: nothing is inserted and nothing fails (on
            # PostgreSQL a failed statement would spoil the whole transaction), then which it was
            # is looked up. A reference taken by another submission is drawn again.
            inserted = conn.execute(
                f"INSERT INTO submissions ({', '.join(row)}, reference) VALUES ({', '.join('?' * (len(row) + 1))}) "
                "ON CONFLICT DO NOTHING RETURNING id", (*row.values(), chosen)).fetchone()
            if inserted:
                return int(inserted[0]), chosen
            key = row["idempotency_key"]
            if conn.execute("SELECT 1 FROM submissions WHERE idempotency_key = ?", (key,)).fetchone():
                return None
            if reference:
                raise sqlite3.IntegrityError(f"reference {reference} is taken by another submission")
        raise RuntimeError("could not find an unused reference")  # pragma: no cover - a broken random source


def _check_draft(draft: Draft) -> None:
    """Refuse an unknown channel, or help recorded without the resident's answer (or with an unknown one)."""
    if draft.channel not in CHANNELS:
        raise ValueError(f"unknown channel {draft.channel!r}")
    if (draft.assisted_by is None) != (draft.assist_consent is None) or \
            draft.assist_consent not in (None, *ASSIST_CONSENTS):
        raise ValueError("a submission made with help needs the volunteer's name and one of "
                         f"{', '.join(ASSIST_CONSENTS)} (got {draft.assist_consent!r})")
