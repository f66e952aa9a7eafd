"""What a kiosk may send: every field, its type and its size, and nothing else.

A field outside the schema is refused with its name (`Invalid`), never stored: the schema is the
promise that nothing personal crosses, so a kiosk cannot add a field the council never agreed to
keep. Kinds of event are another matter: a kiosk upgraded before the service sends kinds it does
not know yet, and those are kept (their fields are still these) and counted as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.fleet.formats import MAX_TEXT

#: The most entries in a table or list.
MAX_ENTRIES = 50
MAX_EVENTS = 1000
#: The largest number a field may hold (JSON's safe integers): beyond, a count is a kiosk's bug, and
#: kept it would break every scrape of /metrics (a float cannot hold it).
LARGEST = 2**53


class Invalid(ValueError):
    """A body that does not match the schema; the message says where and why."""


@dataclass(frozen=True)
class Optional:
    spec: Any


@dataclass(frozen=True)
class TableOf:
    """A JSON object with any short keys, each value of `spec` (outbox states, back offices)."""

    spec: Any


@dataclass(frozen=True)
class ListOf:
    spec: Any
    most: int = MAX_ENTRIES


_NAMES = {str: "text", int: "a whole number", float: "a number", bool: "true or false", dict: "an object"}


def check(value: Any, spec: Any, where: str) -> None:
    """Raise Invalid unless `value` matches `spec`: a type, Optional, TableOf, ListOf, or a dict of
    field -> spec (an object with those fields only, each present)."""
    if isinstance(spec, Optional):
        if value is not None:
            check(value, spec.spec, where)
    elif isinstance(spec, dict):
        _record(value, spec, where)
    elif isinstance(spec, TableOf):
        _table(value, spec.spec, where)
    elif isinstance(spec, ListOf):
        if not isinstance(value, list) or len(value) > spec.most:
            raise Invalid(f"{where}: expected a list of {spec.most} at most")
        for index, item in enumerate(value):
            check(item, spec.spec, f"{where}[{index}]")
    else:
        _scalar(value, spec, where)


def _record(value: Any, fields: dict[str, Any], where: str) -> None:
    if not isinstance(value, dict):
        raise Invalid(f"{where}: expected an object")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise Invalid(f"{where}: unknown field {str(unknown[0])[:40]!r} (not in the fleet's schema)")
    for name, spec in fields.items():
        if name not in value and not isinstance(spec, Optional):
            raise Invalid(f"{where}: missing field {name!r}")
        check(value.get(name), spec, f"{where}.{name}")


def _table(value: Any, spec: Any, where: str) -> None:
    if not isinstance(value, dict) or len(value) > MAX_ENTRIES:
        raise Invalid(f"{where}: expected an object of {MAX_ENTRIES} entries at most")
    for key, item in value.items():
        if len(key) > 64:
            raise Invalid(f"{where}: a key longer than 64 characters")
        check(item, spec, f"{where}.{key}")


def _scalar(value: Any, kind: type, where: str) -> None:
    # bool is an int in Python, not in JSON; an int is a fine float
    fits = (isinstance(value, kind) and not (kind is int and isinstance(value, bool))) or (
        kind is float and isinstance(value, int) and not isinstance(value, bool))
    if not fits or (kind in (int, float) and not -LARGEST <= value <= LARGEST):  # an infinity too
        raise Invalid(f"{where}: expected {_NAMES.get(kind, kind.__name__)}"
                      f"{' between -2**53 and 2**53' if fits else ''}")
    if kind is str and len(value) > MAX_TEXT:
        raise Invalid(f"{where}: longer than {MAX_TEXT} characters")


BACKOFFICE = {"reachable": Optional(bool), "paused": bool, "last_success_at": Optional(str),
              "last_error": Optional(str), "last_error_at": Optional(str)}

HEARTBEAT = {
    "device_id": str, "version": str, "sent_at": str, "library_name": str,
    "outbox": TableOf(int), "oldest_queued_seconds": Optional(int), "needs_attention": int,
    "backoffices": TableOf(BACKOFFICE), "catalogue_age_seconds": Optional(int), "free_disk_mb": Optional(int),
    "checks": TableOf(bool), "problems": ListOf(str, 10), "clock_offset_seconds": Optional(float),
    "silent_seconds": Optional(int),
}

#: One event or submission record. A session event has `at`, `session` and its steps; a submission's
#: record has its times and outcome; both are checked against this one list of fields.
EVENT = {
    "store_id": str, "event_id": str, "kind": str, "channel": Optional(str), "service_code": Optional(str),
    "at": Optional(str), "session": Optional(str), "language": Optional(str), "step": Optional(str),
    "assisted": Optional(bool), "created_at": Optional(str), "accepted_at": Optional(str), "outcome": Optional(str),
}

EVENTS = {"version": int, "events": ListOf(EVENT, MAX_EVENTS)}

ENROL = {"device_id": str, "code": str}
