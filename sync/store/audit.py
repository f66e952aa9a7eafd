"""The audit log: who did what at this kiosk, and whether it was allowed.

Volunteers and staff sign in, correct, resend and cancel residents' requests; each sign-in, each
action and each refusal leaves one row here (see migration 5). An actor is a volunteer's name or
`cli` (the command line); a subject is a reference or a volunteer's name. Never a PIN, never a
resident's personal data: details say which fields changed, not what they now hold.

Most entries are written on their own and never raise: a full disk must not stop a volunteer
signing out. A staff change to a request is different: it must not happen unrecorded, so
`audited` makes the change and its entry in one transaction, both or neither.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sync.store import db as db_module
from sync.store.db import Conn
from sync.store.states import TransitionError
from sync.store.times import iso, parse_iso

if TYPE_CHECKING:  # the Store's own modules import this one
    from sync.store.store import Store

log = logging.getLogger(__name__)

OUTCOMES = ("ok", "refused", "failed")


@dataclass(frozen=True)
class Entry:
    at: datetime
    device_id: str
    actor: str
    action: str
    outcome: str
    subject: str | None
    detail: str | None


def _insert(conn: Conn, store: Store, actor: str, action: str, outcome: str, subject: str | None,
            detail: str | None) -> None:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}")
    conn.execute("INSERT INTO audit_log (at, device_id, actor, action, outcome, subject, detail) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)", (iso(store.clock()), store.device_id, actor, action, outcome,
                                                  subject, detail))


def record(store: Store, actor: str, action: str, outcome: str, subject: str | None = None,
           detail: str | None = None) -> bool:
    """Append one entry; returns False (and logs why) when it could not be written.

    Inside another write transaction it joins it (as a savepoint), so it is kept or undone with
    the change it describes."""
    try:
        with db_module.write(store.db) as conn:
            _insert(conn, store, actor, action, outcome, subject, detail)
    except (db_module.StoreError, sqlite3.Error) as error:
        log.warning("audit entry %s %s by %s not recorded: %s", action, outcome, actor, error)
        return False
    return True


@contextmanager
def audited(store: Store, actor: str, action: str, subject: str | None = None,
            detail: str | None = None) -> Iterator[Conn]:
    """Make a change and its "ok" entry in one write transaction: both are kept, or neither.

    A change the store refuses (TransitionError, ValueError) is undone and recorded as
    "refused"; one that fails (a busy or full store) as "failed", if that can still be written.
    Either way the exception goes on to the caller, who tells the person.
    """
    try:
        with db_module.write(store.db) as conn:
            yield conn
            _insert(conn, store, actor, action, "ok", subject, detail)
    except (TransitionError, ValueError) as error:
        record(store, actor, action, "refused", subject, str(error))
        raise
    except (db_module.StoreError, sqlite3.Error) as error:
        record(store, actor, action, "failed", subject, type(error).__name__)
        raise


def recent(store: Store, limit: int = 50) -> list[Entry]:
    """The latest entries, newest first."""
    rows = store.db.conn.execute("SELECT at, device_id, actor, action, outcome, subject, detail FROM audit_log "
                                 "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [Entry(parse_iso(row[0]), *row[1:]) for row in rows]
