"""Every kiosk as the council sees it: what it was added as, what it last said, and what is wrong.

The flags are the fleet page's and `assist fleet list`'s alike: silent longer than
`fleet.stale_minutes` while its library is open (counted from the latest of its last heartbeat,
its enrolment and the library's opening), its oldest request queued longer than
`fleet.queue_alert_minutes`, anything needing attention, a failed key or store check, a clock
more than 5 minutes out. The library name given at `add-kiosk` is the one shown; a different
`kiosk.library_name` reported by the kiosk is a warning beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet import events, heartbeats, registry
from fleet.hours import opened_at
from sync.config import Settings
from sync.store.db import Database
from sync.store.times import parse_iso


def _flags(kiosk: registry.Kiosk, last: tuple[str, float | None, dict[str, Any]] | None, settings: Settings,
           now: datetime) -> list[str]:
    if kiosk.state != "enrolled":
        return []
    fleet = settings.fleet
    flags = []
    opened = opened_at(kiosk.week, kiosk.timezone, now)
    # Silence counts from the last heartbeat, its enrolment or the library's opening, the latest of them:
    # a kiosk switched off overnight, or enrolled a minute ago, has its half hour to be heard.
    since = max(parse_iso(moment) for moment in (last[0] if last else None, kiosk.enrolled_at) if moment)
    if opened is not None and (now - max(since, opened)).total_seconds() > fleet.stale_minutes * 60:
        flags.append(f"silent for over {fleet.stale_minutes} minutes in opening hours")
    if kiosk.refused_at and (last is None or kiosk.refused_at > last[0]):
        flags.append(f"its heartbeat was refused: {kiosk.refused_reason}")
    if last is None:
        return flags
    _, skew, body = last
    if (body.get("oldest_queued_seconds") or 0) > fleet.queue_alert_minutes * 60:
        flags.append(f"a request queued for over {fleet.queue_alert_minutes} minutes")
    if body.get("needs_attention"):
        flags.append(f"{body['needs_attention']} needing attention")
    failed = sorted(name for name, ok in body.get("checks", {}).items() if not ok)
    if failed:
        flags.append("failed check: " + ", ".join(failed))
    if skew is not None and abs(skew) > heartbeats.CLOCK_FLAG_SECONDS:
        flags.append(f"clock {abs(skew) / 60:.0f} minutes {'ahead' if skew > 0 else 'behind'}")
    if body.get("library_name") and body["library_name"] != kiosk.library:
        flags.append(f"the kiosk calls itself {body['library_name']!r}")
    return flags


def _state(office: dict[str, Any]) -> str:
    if office.get("paused"):
        return "paused"
    return "reachable" if office.get("reachable") else "unreachable"


def backoffice_state(body: dict[str, Any]) -> tuple[str, str | None]:
    """Each back office's state in words ("default: paused"), and the latest error any of them gave."""
    offices = body.get("backoffices") or {}
    states = [f"{name}: {_state(office)}" for name, office in sorted(offices.items())]
    errors = sorted((office.get("last_error_at") or "", office["last_error"]) for office in offices.values()
                    if office.get("last_error"))
    return "; ".join(states) or "not reported", errors[-1][1] if errors else None


def figures(body: dict[str, Any]) -> dict[str, Any]:
    """What a heartbeat says, as the fleet page and `assist fleet list --json` show it."""
    state, last_error = backoffice_state(body)
    return {"version": body.get("version"), "queued": (body.get("outbox") or {}).get("queued"),
            "oldest_queued_seconds": body.get("oldest_queued_seconds"), "needs_attention": body.get("needs_attention"),
            "free_disk_mb": body.get("free_disk_mb"), "backoffice": state, "last_error": last_error}


def overview(db: Database, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    """One entry per kiosk: its registration, its last heartbeat's figures, and its flags."""
    rows = []
    for kiosk in registry.kiosks(db, now):
        last = heartbeats.latest(db, kiosk.device_id)
        body = last[2] if last else {}
        rows.append({
            "device_id": kiosk.device_id, "library": kiosk.library, "hours": kiosk.hours, "state": kiosk.state,
            "enrolled_at": kiosk.enrolled_at, "revoked_at": kiosk.revoked_at,
            "code_expires_at": kiosk.code_expires_at, "last_heard_at": last[0] if last else None,
            **figures(body), "events": events.counts(db, kiosk.device_id), "flags": _flags(kiosk, last, settings, now)})
    return rows
