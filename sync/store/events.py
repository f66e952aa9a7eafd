"""Session events: what residents' visits and text conversations did, for the take-up report.

Councils report how their assisted-digital channels are used: how many people start, where they
give up, how many finish, with help or alone, in which language. Each channel records a few
events per session here, and `assist report` (sync/reporting/report.py) reads them from one or more stores.

Nothing personal is recorded, and nothing the resident typed: a session is a random id, a step
is a question's key, and the rest is the service, the language, the channel and whether a
volunteer was helping. An event that cannot be written is logged and dropped: the report is
worth less than the resident's visit, which must never fail because of it.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync.store import db as db_module
from sync.store.db import Conn
from sync.store.times import iso  # the store's one time format, so the report can compare as text

if TYPE_CHECKING:
    from sync.store.store import Store

log = logging.getLogger(__name__)

#: A session begins (the first screen or message).
STARTED = "started"
#: A service was chosen.
SERVICE = "service"
#: A question was reached (`step` is its key); the last one reached is where someone gave up.
QUESTION = "question"
#: The answers were read back for checking (the kiosk's check page, the SMS read-back).
CHECK = "check"
#: The submission was saved in the outbox.
SUBMITTED = "submitted"
#: The resident left without submitting: started again, walked away (timeout), the conversation
#: expired, or an error sent the kiosk back to its start. `step` says which of "restart",
#: "timeout", "expired" or "error".
ABANDONED = "abandoned"
#: A volunteer began helping in this session (the resident agreed).
ASSISTED = "assisted"
#: The resident changed language mid-session (`language` is the new one).
LANGUAGE = "language"
#: The resident checked on a request (by its reference): a visit with a purpose of its own, not a
#: report they gave up on.
STATUS = "status"

EVENTS = (STARTED, SERVICE, QUESTION, CHECK, SUBMITTED, ABANDONED, ASSISTED, LANGUAGE, STATUS)


#: One event row, in the table's column order (see `insert`).
COLUMNS = ("session", "channel", "device_id", "at", "event", "service_code", "language", "step", "assisted")
_INSERT = f"INSERT INTO session_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"


def insert(conn: Conn, rows: list[tuple[Any, ...]]) -> None:
    """Write rows (tuples in COLUMNS order) inside the caller's write transaction: the SMS bot
    writes a batch's events with the conversation steps that made them, in one commit."""
    conn.executemany(_INSERT, rows)


def new_session() -> str:
    """A random session id: it links a visit's events to each other and to nothing else."""
    return uuid.uuid4().hex


def record(store: Store, session: str, event: str, *, channel: str, language: str, service_code: str | None = None,
           step: str | None = None, assisted: bool = False, at: datetime | None = None) -> bool:
    """Append one event to `store`; returns False (and logs why) when it could not be written.

    Events never raise: a full disk or a busy database costs the report one row, never the
    resident their visit. The kiosk writes one on every page, so each is committed without an
    fsync of its own (`db.relaxed`): a power cut may lose the last page's event, never a submission.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown session event {event!r}")
    row = (session, channel, store.device_id, iso(at or store.clock()), event, service_code, language, step,
           1 if assisted else 0)
    try:
        with db_module.relaxed(store.db), db_module.write(store.db) as conn:
            insert(conn, [row])
    except (db_module.StoreError, sqlite3.Error) as error:
        log.warning("session event %s not recorded: %s", event, error)
        return False
    return True
