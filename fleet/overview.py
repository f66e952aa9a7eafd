"""Every kiosk as the council sees it: what it was added as, what it last said, and what is wrong.

The flags are the fleet page's and `assist fleet list`'s alike: silent longer than
`fleet.stale_minutes` while its library is open (counted from the latest of its last heartbeat,
its enrolment and the library's opening), its oldest request queued longer than
`fleet.queue_alert_minutes`, anything needing attention, a failed key or store check, a clock
more than 5 minutes out. The library name given at `add-kiosk` is the one shown; a different
`kiosk.library_name` reported by the kiosk is a warning beside it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fleet import events, heartbeats, registry
from fleet.hours import opened_at
from sync.config import Settings
from sync.store.db import Database
from sync.store.times import parse_iso


def _flags(kiosk: registry.Kiosk, last: tuple[str, float | None, dict[str, Any]] | None, settings: Settings,
           now: datetime) -> list[str]:
    if kiosk.state == "waiting for enrolment":
        return [f"waiting for enrolment: its code expires {when(kiosk.code_expires_at)}"]
    if kiosk.state == "code expired":
        return ["its enrolment code expired: assist fleet add-kiosk gives a new one"]
    if kiosk.state != "enrolled":
        return []
    stale = settings.fleet.stale_minutes
    opened = opened_at(kiosk.week, kiosk.timezone, now)
    # Silence counts from the last heartbeat, its enrolment or the library's opening, the latest of them:
    # a kiosk switched off overnight, or enrolled a minute ago, has its half hour to be heard.
    since = max(parse_iso(moment) for moment in (last[0] if last else None, kiosk.enrolled_at) if moment)
    flags = []
    if opened is not None and (now - max(since, opened)).total_seconds() > stale * 60:
        flags.append(f"silent for over {_minutes(stale)} in opening hours")
    if kiosk.refused_at and (last is None or kiosk.refused_at > last[0]):
        flags.append(f"its heartbeat was refused: {kiosk.refused_reason}")
    return flags + (_said(last[2], last[1], kiosk, settings) if last else [])


def _said(body: dict[str, Any], skew: float | None, kiosk: registry.Kiosk, settings: Settings) -> list[str]:
    """What needs a look in a kiosk's last heartbeat."""
    queue_alert = settings.fleet.queue_alert_minutes
    paused = sorted(name for name, office in (body.get("backoffices") or {}).items() if office.get("paused"))
    failed = sorted(name for name, ok in body.get("checks", {}).items() if not ok)
    skew = skew or 0.0
    said = body.get("library_name")
    return [flag for wrong, flag in (
        ((body.get("oldest_queued_seconds") or 0) > queue_alert * 60,
         f"a request queued for over {_minutes(queue_alert)}"),
        (paused, "back office paused: " + ", ".join(paused)),
        (body.get("needs_attention"), f"{body.get('needs_attention')} needing attention"),
        (failed, "failed check: " + ", ".join(failed)),
        (abs(skew) > heartbeats.CLOCK_FLAG_SECONDS,
         f"clock {_minutes(round(abs(skew) / 60))} {'ahead' if skew > 0 else 'behind'}"),
        (said and said != kiosk.library, f"the kiosk calls itself {said!r}"),
    ) if wrong]


def _minutes(count: int) -> str:
    return f"{count} minute{'' if count == 1 else 's'}"


def when(moment: str | None) -> str:
    """A time as staff read it ("1 December 11:38"; the pages say times are UTC), or "never"."""
    if not moment:
        return "never"
    try:  # the service's own times, or a kiosk's (checked by the schema only as text): shown as sent if odd
        at = datetime.fromisoformat(moment)
        at = at.astimezone(timezone.utc) if at.tzinfo else at
    except (ValueError, OverflowError):
        return moment
    return f"{at.day} {at:%B %H:%M}"


def _state(office: dict[str, Any]) -> str:
    if office.get("paused"):
        return "paused"
    return "reachable" if office.get("reachable") else "unreachable"


def backoffice_state(body: dict[str, Any]) -> tuple[str, tuple[str, str] | None]:
    """Each back office's state in words ("default: paused"), and the latest error any of them gave
    (when, or "" if not said; what)."""
    offices = body.get("backoffices") or {}
    states = [f"{name}: {_state(office)}" for name, office in sorted(offices.items())]
    errors = sorted((office.get("last_error_at") or "", office["last_error"]) for office in offices.values()
                    if office.get("last_error"))
    return "; ".join(states) or "not reported", errors[-1] if errors else None


def figures(body: dict[str, Any]) -> dict[str, Any]:
    """What a heartbeat says, as the fleet page and `assist fleet list --json` show it."""
    state, last_error = backoffice_state(body)
    return {"version": body.get("version"), "queued": (body.get("outbox") or {}).get("queued"),
            "oldest_queued_seconds": body.get("oldest_queued_seconds"), "needs_attention": body.get("needs_attention"),
            "free_disk_mb": body.get("free_disk_mb"), "backoffice": state,
            "last_error": last_error[1] if last_error else None,
            "last_error_at": last_error[0] or None if last_error else None}


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
