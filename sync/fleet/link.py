"""A kiosk's enrolment with the fleet service, kept in its own store (the `fleet_link` row).

The per-kiosk token is sealed with the store key like any secret the store holds, so a copy of
the file alone cannot speak for the kiosk. The store id is random and made once per store: a
kiosk whose store is rebuilt numbers its events from 1 again, and the service, deduplicating on
(device, store id, event id), keeps those rather than taking them for a replay.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from sync.store import db as db_module
from sync.store.db import Conn
from sync.store.times import iso, parse_iso

if TYPE_CHECKING:
    from sync.store.store import Store


@dataclass(frozen=True)
class Link:
    """The kiosk's enrolment: where the service is, as whom, with which (unsealed) token."""

    store_id: str
    url: str
    device_id: str
    token: str
    enrolled_at: str
    events_sent_until: int
    last_heartbeat_at: datetime | None
    clock_offset_seconds: float | None


def _ensure(conn: Conn) -> str:
    """The store id, made the first time it is asked for (inside the caller's write)."""
    conn.execute("INSERT INTO fleet_link (id, store_id) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
                 (uuid.uuid4().hex,))
    return str(conn.execute("SELECT store_id FROM fleet_link WHERE id = 1").fetchone()[0])


def store_id(store: Store) -> str:
    """This store's random id (made once, kept through a new enrolment)."""
    with db_module.write(store.db) as conn:
        return _ensure(conn)


def save_enrolment(store: Store, url: str, device_id: str, token: str) -> None:
    """Record a new enrolment: the service's URL, the device id it knows, the token sealed."""
    with db_module.write(store.db) as conn:
        _ensure(conn)
        conn.execute("UPDATE fleet_link SET url = ?, device_id = ?, token = ?, enrolled_at = ?, last_error = NULL "
                     "WHERE id = 1", (url, device_id, store.vault.seal(token), iso(store.clock())))


def current(store: Store) -> Link | None:
    """The enrolment in force, or None for a kiosk never enrolled."""
    row = store.db.conn.execute(
        "SELECT store_id, url, device_id, token, enrolled_at, events_sent_until, last_heartbeat_at, "
        "clock_offset_seconds FROM fleet_link WHERE id = 1 AND token IS NOT NULL").fetchone()
    if row is None:
        return None
    return Link(store_id=row[0], url=row[1], device_id=row[2], token=str(store.vault.open(row[3])),
                enrolled_at=row[4], events_sent_until=int(row[5]),
                last_heartbeat_at=parse_iso(row[6]) if row[6] else None,
                clock_offset_seconds=None if row[7] is None else float(row[7]))


def note_heartbeat(store: Store, at: datetime, clock_offset_seconds: float | None) -> None:
    """The service took a heartbeat at `at` (our clock); its Date said our clock is off by this much."""
    with db_module.write(store.db) as conn:
        conn.execute("UPDATE fleet_link SET last_heartbeat_at = ?, clock_offset_seconds = ?, last_error = NULL "
                     "WHERE id = 1", (iso(at), clock_offset_seconds))


def note_error(store: Store, reason: str) -> None:
    """Why the last exchange with the service failed (a reason of ours, never a resident's words)."""
    with db_module.write(store.db) as conn:
        conn.execute("UPDATE fleet_link SET last_error = ? WHERE id = 1", (reason[:300],))


def last_error(store: Store) -> str | None:
    row = store.db.conn.execute("SELECT last_error FROM fleet_link WHERE id = 1").fetchone()
    return None if row is None else row[0]


def acknowledge(store: Store, events_until: int, submission_ids: Iterable[int]) -> None:
    """The service has (or refused for good) every session event up to `events_until` and these
    submissions' records: none of them is sent again."""
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        conn.execute("UPDATE fleet_link SET events_sent_until = ? WHERE id = 1 AND events_sent_until < ?",
                     (events_until, events_until))
        conn.executemany("INSERT INTO fleet_sent_submissions (submission_id, sent_at) VALUES (?, ?) "
                         "ON CONFLICT (submission_id) DO NOTHING", [(sid, now) for sid in submission_ids])


def status(store: Store) -> dict[str, Any]:
    """The enrolment as staff may see it (never the token): where, since when, last heard, why not,
    and how many events and submission records wait to be sent."""
    row = store.db.conn.execute(
        "SELECT url, device_id, enrolled_at, last_heartbeat_at, clock_offset_seconds, last_error, events_sent_until "
        "FROM fleet_link WHERE id = 1 AND token IS NOT NULL").fetchone()
    if row is None:
        return {"enrolled": False}
    found = dict(zip(("url", "device_id", "enrolled_at", "last_heartbeat_at", "clock_offset_seconds", "last_error"),
                     row))
    waiting = store.db.conn.execute("SELECT count(*) FROM session_events WHERE id > ?", (row[6],)).fetchone()[0]
    return {"enrolled": True, **found, "events_waiting": int(waiting)}
