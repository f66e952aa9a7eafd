"""What every part of the Store shares: its connection, key, clock and settings, and the steps
every state change is made of (finding the submission, the move itself, its history row and its
outbox event).

The Store is composed of one mixin per concern (sync/store/store.py); each derives from
StoreBase, so each sees the same attributes, typed, and these helpers are written once.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sync import catalogue as catalogue_module
from sync import reference as reference_module
from sync.config import DEFAULT_BACKOFFICE
from sync.crypto import Vault
from sync.store.db import Conn, Database
from sync.store.states import TRANSITIONS, TransitionError
from sync.store.times import iso, utcnow


def shown(reference: str) -> str:
    """A reference as people see it, grouped (or as it was typed, if it is none of ours)."""
    canonical = reference_module.parse(reference)
    return reference_module.display(canonical) if canonical else reference


def _default_route(service_code: str) -> str:
    return DEFAULT_BACKOFFICE


class StoreBase:
    """The store's state, set once when it is opened (tests pass a clock and a random source)."""

    def __init__(self, db: Database, vault: Vault, *, device_id: str, retention_days: int = 90,
                 lease_seconds: int = 120, backoff_base_seconds: float = 30, backoff_cap_seconds: float = 3600,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 route: Callable[[str], str] = _default_route, overlay_pins: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.vault = vault
        self.device_id = device_id
        self.retention = timedelta(days=retention_days)
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff_base = backoff_base_seconds
        self.backoff_cap = backoff_cap_seconds
        self.clock = clock
        self.rng = rng or random.Random()
        self.route = route  # which back office a service's submissions go to
        self.overlay_pins = dict(overlay_pins or {})  # `[catalogue.overlay]`: council code -> bundled code
        #: The catalogue in force, with the stamp of the council catalogue it was made from.
        self._catalogue: tuple[tuple[Any, ...] | None, catalogue_module.Catalogue] | None = None
        #: The key of texting's keyed hash of numbers, unsealed once (sync.texting.numbers.number_key).
        self.number_key: bytes | None = None

    def close(self) -> None:
        self.db.conn.close()

    def _now(self) -> str:
        return iso(self.clock())

    def _history(self, conn: Conn, submission_id: int, status: str, notes: str | None,
                 source: str, at: str | None = None) -> None:
        """One row of a submission's status history (a resident may see it: `lookup`)."""
        conn.execute("INSERT INTO status_history (submission_id, status, notes, at, source) VALUES (?, ?, ?, ?, ?)",
                     (submission_id, status, notes, at or self._now(), source))

    def _event(self, conn: Conn, submission_id: int, kind: str, detail: str | None) -> None:
        """One row of what happened to a submission, for `assist outbox show` (never personal data)."""
        conn.execute("INSERT INTO outbox_events (submission_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                     (submission_id, self._now(), kind, detail))

    def _move(self, conn: Conn, submission_id: int, owner: str | None, to: str,
              changes: dict[str, Any], history: tuple[str, str | None] | None = None) -> None:
        """Change state if the outbox allows it and (for a worker) the lease is still held."""
        # On PostgreSQL, with the row locked: a claim (which does not take the store's write lock)
        # must not re-lease it between this look and the change.
        lock = " FOR UPDATE" if self.db.on_postgres else ""
        row = conn.execute(f"SELECT state, lease_owner, lease_expires_at FROM submissions WHERE id = ?{lock}",
                           (submission_id,)).fetchone()
        if row is None:
            raise TransitionError(f"no submission {submission_id}")
        state, lease_owner, lease_expires_at = row
        if to not in TRANSITIONS[state]:
            raise TransitionError(f"submission {submission_id}: {state} -> {to} is not allowed")
        now = self._now()
        if owner is not None and (lease_owner != owner or lease_expires_at is None or lease_expires_at <= now):
            raise TransitionError(f"submission {submission_id}: lease not held by {owner}")
        values = {"state": to, "updated_at": now, **changes}
        conn.execute(f"UPDATE submissions SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                     (*values.values(), submission_id))
        if history:
            self._history(conn, submission_id, history[0], history[1], "local")

    def _id_for(self, conn: Conn, reference: str) -> int:
        """The id of the submission a person's reference names, else TransitionError."""
        canonical = reference_module.parse(reference)
        row = (conn.execute("SELECT id FROM submissions WHERE reference = ?", (canonical,)).fetchone()
               if canonical else None)
        if row is None:
            raise TransitionError(f"no submission with reference {reference}")
        return int(row[0])
