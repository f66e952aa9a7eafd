"""What the worker knows of each back office, and what the channels ask of the worker.

Channels never call out: they read a back office's reachability, pause and search state here,
and leave requests such as "sync now" here for the worker to take.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sync.store import db as db_module
from sync.store.base import StoreBase
from sync.store.times import iso, parse_iso

#: What `backoffice_states` tells of each back office.
_STATE = ("reachable", "checked_at", "last_success_at", "last_error", "last_error_at", "paused", "paused_reason",
          "search_mode", "search_verified_at", "search_failing_since", "search_error")


class Backoffices(StoreBase):
    def set_backoffice_state(self, name: str, *, reachable: bool | None = None, error: str | None = None,
                             paused: bool | None = None, paused_reason: str | None = None) -> None:
        now = self._now()
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO backoffice_state (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
            if reachable is not None:
                conn.execute("UPDATE backoffice_state SET reachable = ?, checked_at = ? WHERE name = ?",
                             (int(reachable), now, name))
                if reachable and error is None:
                    conn.execute("UPDATE backoffice_state SET last_success_at = ? WHERE name = ?", (now, name))
            if error is not None:
                conn.execute("UPDATE backoffice_state SET last_error = ?, last_error_at = ? WHERE name = ?",
                             (error, now, name))
            if paused is not None:
                conn.execute("UPDATE backoffice_state SET paused = ?, paused_reason = ? WHERE name = ?",
                             (int(paused), paused_reason if paused else None, name))

    def backoffice_states(self) -> dict[str, dict[str, Any]]:
        rows = self.db.conn.execute(f"SELECT name, {', '.join(_STATE)} FROM backoffice_state ORDER BY name").fetchall()
        return {row[0]: dict(zip(_STATE, row[1:])) for row in rows}

    def set_search_state(self, name: str, *, mode: str | None = None, verified: bool | None = None,
                         failing: str | None = None, working: bool = False) -> None:
        """What the worker learnt of a back office's search: how it pages (`mode`, JSON), that a
        search just found a known request (`verified`; False forgets it, as a catalogue refresh
        does), that searches fail and why (`failing`, since the first failure), or work again."""
        now = self._now()
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO backoffice_state (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
            if mode is not None:
                conn.execute("UPDATE backoffice_state SET search_mode = ? WHERE name = ?", (mode, name))
            if verified is not None:
                conn.execute("UPDATE backoffice_state SET search_verified_at = ? WHERE name = ?",
                             (now if verified else None, name))
            if failing is not None:
                conn.execute("UPDATE backoffice_state SET search_error = ?, "
                             "search_failing_since = coalesce(search_failing_since, ?) WHERE name = ?",
                             (failing, now, name))
            if working:
                conn.execute("UPDATE backoffice_state SET search_error = NULL, search_failing_since = NULL "
                             "WHERE name = ?", (name,))

    def updates_checked_until(self, backoffice: str) -> datetime | None:
        """How far the back office's updates feed has been read."""
        row = self.db.conn.execute("SELECT updates_until FROM backoffice_state WHERE name = ?",
                                   (backoffice,)).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def set_updates_checked_until(self, backoffice: str, when: datetime) -> None:
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO backoffice_state (name, updates_until) VALUES (?, ?) ON CONFLICT (name) "
                         "DO UPDATE SET updates_until = excluded.updates_until", (backoffice, iso(when)))


    def request(self, name: str) -> None:
        """Leave a request (such as "sync_now") for the worker."""
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO requests (name, requested_at) VALUES (?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET requested_at = excluded.requested_at", (name, self._now()))

    def take_request(self, name: str) -> bool:
        """Whether the request was waiting; taking it removes it."""
        with db_module.write(self.db) as conn:
            return conn.execute("DELETE FROM requests WHERE name = ?", (name,)).rowcount > 0
