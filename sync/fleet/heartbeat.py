"""A kiosk's heartbeat: how it is, in figures and states the council can act on, with nothing
personal in it (counts, ages, check results, the back offices' own errors as the worker scrubbed
them before storing).

It is built fresh each time and never queued: a kiosk offline for a day sends one heartbeat when
it is back, saying how long it has been silent, not a day of old ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sync.config import Settings
from sync.fleet.formats import MAX_TEXT, software_version
from sync.fleet.link import Link
from sync.store import health
from sync.store.times import iso

if TYPE_CHECKING:
    from sync.store.store import Store

#: A back office's last error, cut to this many characters.
ERROR_CHARS = 200


def _seconds(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, int((now - since).total_seconds()))


def build(store: Store, settings: Settings, link: Link, now: datetime) -> dict[str, Any]:
    """The heartbeat to send now (its fields are the service's schema: fleet/schema.py)."""
    counts = store.counts()
    checks = health.checked(store, settings)
    offices = {name: {"reachable": None if state["reachable"] is None else bool(state["reachable"]),
                      "paused": bool(state["paused"]), "last_success_at": state["last_success_at"],
                      "last_error": (state["last_error"] or "")[:ERROR_CHARS] or None,
                      "last_error_at": state["last_error_at"]}
               for name, state in store.backoffice_states().items()}
    return {
        "device_id": link.device_id, "version": software_version(), "sent_at": iso(now),
        "library_name": settings.kiosk.library_name[:MAX_TEXT], "outbox": counts,
        "oldest_queued_seconds": _seconds(store.oldest_queued_at(), now),
        "needs_attention": counts.get("needs_attention", 0), "backoffices": offices,
        "catalogue_age_seconds": _seconds(store.catalogue_fetched_at(), now),
        "free_disk_mb": health.free_mb(store),
        "checks": {name: problem is None for name, problem in checks.items()},
        "problems": [problem[:MAX_TEXT] for problem in checks.values() if problem],
        "clock_offset_seconds": link.clock_offset_seconds,
        "silent_seconds": _seconds(link.last_heartbeat_at, now),
    }
