"""Heartbeats as the service keeps them: checked against the schema, timed by both clocks, kept
for 30 days.

A heartbeat is built the moment it is sent, so its `sent_at` is the kiosk's clock now: the
difference from ours is the kiosk's clock error (flagged past CLOCK_FLAG_SECONDS on the fleet
page). One more than a day out is refused: either the kiosk's clock is useless for its own
records, or the heartbeat is a replay of an old one, and either way its figures cannot be dated.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from fleet.schema import HEARTBEAT, Invalid, check
from sync.store import db as db_module
from sync.store.db import Database
from sync.store.times import iso

KEEP = timedelta(days=30)
#: A kiosk's clock this far from ours is flagged; past TOLERANCE its heartbeat is refused.
CLOCK_FLAG_SECONDS = 5 * 60
TOLERANCE = timedelta(days=1)


def _sent_at(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("heartbeat.sent_at: expected a time, like 2026-12-06T10:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def record(db: Database, device_id: str, body: Any, now: datetime) -> float:
    """Keep a heartbeat from `device_id` (who its token proved it is); returns the kiosk's clock
    error in seconds. Invalid for a body outside the schema, another kiosk's or out of time."""
    check(body, HEARTBEAT, "heartbeat")
    if body["device_id"] != device_id:
        raise Invalid("heartbeat.device_id: not the device id the token belongs to")
    skew = _sent_at(body["sent_at"]) - now
    if abs(skew) > TOLERANCE:
        way = "ahead of" if skew > timedelta(0) else "behind"
        raise Invalid(f"heartbeat.sent_at: {abs(skew.total_seconds()) / 3600:.0f} hours {way} the fleet service's "
                      "clock; check the kiosk's clock")
    with db_module.write(db) as conn:
        conn.execute("INSERT INTO fleet_heartbeats (device_id, received_at, skew_seconds, body) VALUES (?, ?, ?, ?)",
                     (device_id, iso(now), skew.total_seconds(), json.dumps(body, sort_keys=True)))
    return skew.total_seconds()


def purge(db: Database, now: datetime) -> int:
    """Forget heartbeats older than 30 days; returns how many."""
    with db_module.write(db) as conn:
        return int(conn.execute("DELETE FROM fleet_heartbeats WHERE received_at < ?", (iso(now - KEEP),)).rowcount)


def latest(db: Database, device_id: str) -> tuple[str, float | None, dict[str, Any]] | None:
    """The last heartbeat from a kiosk: when it came, its clock error, and what it said."""
    row = db.conn.execute("SELECT received_at, skew_seconds, body FROM fleet_heartbeats WHERE device_id = ? "
                          "ORDER BY received_at DESC, id DESC LIMIT 1", (device_id,)).fetchone()
    return None if row is None else (row[0], row[1], json.loads(row[2]))


def since(db: Database, device_id: str, start: datetime) -> list[tuple[str, float | None, dict[str, Any]]]:
    """A kiosk's heartbeats received since `start`, newest first (its own page's last 24 hours)."""
    rows = db.conn.execute("SELECT received_at, skew_seconds, body FROM fleet_heartbeats WHERE device_id = ? "
                           "AND received_at >= ? ORDER BY received_at DESC, id DESC", (device_id, iso(start)))
    return [(row[0], row[1], json.loads(row[2])) for row in rows]
