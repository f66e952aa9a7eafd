"""The kiosks the council has added, and the credentials each holds: only their hashes are kept.

`add_kiosk` gives a one-time enrolment code (about 98 random bits, valid 24 hours); `enrol` trades
it, once, for the kiosk's own token (32 random bytes). Both are kept as SHA-256 hashes, not with
argon2 as staff's passwords and PINs are: a slow hash protects a secret a person chose, which
can be guessed; these are random and far too long to guess at any speed, and a fast hash lets
every heartbeat be checked in microseconds. Hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet import hours as hours_module
from sync.store import db as db_module
from sync.store.db import Database
from sync.store.times import iso, parse_iso

CODE_LIFETIME = timedelta(hours=24)
#: Letters and digits a person reads and types without confusing them (no 0/O, 1/I/L, U).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
CODE_LENGTH = 20
TOKEN_BYTES = 32
DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LIBRARY_CHARS = 120


class Refused(Exception):
    """What the operator or the kiosk asked for cannot be done, and why (one line)."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _matches(secret: str, stored: str | None) -> bool:
    return stored is not None and hmac.compare_digest(digest(secret), stored)


def normalise_code(code: str) -> str:
    """A code as typed (any case, with or without its dashes and spaces) as it was made."""
    return re.sub(r"[\s-]", "", code).upper()


def check_device_id(device_id: str) -> str:
    if not DEVICE_ID.match(device_id):
        raise Refused(f"{device_id[:80]!r} is not a device id: letters, digits, '.', '_' and '-', 64 at most")
    return device_id


@dataclass(frozen=True)
class Kiosk:
    device_id: str
    library: str
    hours: str
    timezone: str
    state: str
    created_at: str
    enrolled_at: str | None
    revoked_at: str | None
    code_expires_at: str | None
    week: dict[str, list[list[str]]]
    #: The last heartbeat refused from it (when, why), shown until one is taken again.
    refused_at: str | None = None
    refused_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _library(library: str) -> str:
    library = library.strip()
    if not library or len(library) > LIBRARY_CHARS:
        raise Refused(f"the library's name must be given, {LIBRARY_CHARS} characters at most")
    return library


def _week(hours_text: str, timezone: str) -> str:
    """The opening week `hours_text` gives, as kept (JSON); HoursError naming the part at fault."""
    hours_module.zone(timezone)
    return json.dumps(hours_module.parse(hours_text))


def _in_use(row: Any) -> bool:
    """Whether a kiosk's (token_hash, revoked_at) say it is enrolled and not revoked."""
    return row is not None and row[0] is not None and row[1] is None


def add_kiosk(db: Database, device_id: str, library: str, hours_text: str, timezone: str, now: datetime) -> str:
    """Add a kiosk (or give a new code to one not enrolled, or revoked: a code given before stops
    working); returns its one-time code, shown once. A kiosk enrolled and in use is refused: revoke
    it first (`update_kiosk` changes its library or hours and leaves its enrolment alone)."""
    check_device_id(device_id)
    library = _library(library)
    week = _week(hours_text, timezone)
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with db_module.write(db) as conn:
        row = conn.execute("SELECT token_hash, revoked_at FROM fleet_kiosks WHERE device_id = ?",
                           (device_id,)).fetchone()
        if _in_use(row):
            raise Refused(f"kiosk {device_id} is enrolled; `assist fleet revoke {device_id}` first to enrol it again "
                          f"(`assist fleet update-kiosk {device_id}` changes its library or hours)")
        values = (library, week, hours_text.strip(), timezone, digest(code), iso(now + CODE_LIFETIME))
        if row is None:
            conn.execute("INSERT INTO fleet_kiosks (library, hours, hours_text, timezone, code_hash, code_expires_at, "
                         "device_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*values, device_id, iso(now)))
        else:
            conn.execute("UPDATE fleet_kiosks SET library = ?, hours = ?, hours_text = ?, timezone = ?, code_hash = ?, "
                         "code_expires_at = ?, code_used_at = NULL, token_hash = NULL, enrolled_at = NULL, "
                         "revoked_at = NULL WHERE device_id = ?", (*values, device_id))
    return "-".join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def update_kiosk(db: Database, device_id: str, timezone: str, now: datetime, *, library: str | None = None,
                 hours_text: str | None = None) -> Kiosk:
    """Change a kiosk's library or opening hours (read in `timezone`), whatever its state: its
    enrolment, token and any code waiting are left as they are (opening hours change with the
    seasons; a new code would mean a visit to the library). Returns the kiosk as it is now."""
    changes: dict[str, str] = {}
    if library is not None:
        changes["library"] = _library(library)
    if hours_text is not None:
        changes |= {"hours": _week(hours_text, timezone), "hours_text": hours_text.strip(), "timezone": timezone}
    if not changes:
        raise Refused("nothing to change: give --library, --hours or both")
    assignments = ", ".join(f"{column} = ?" for column in changes)  # the columns are named above, never given
    with db_module.write(db) as conn:
        conn.execute(f"UPDATE fleet_kiosks SET {assignments} WHERE device_id = ?", (*changes.values(), device_id))
        row = conn.execute(f"SELECT {_COLUMNS} FROM fleet_kiosks WHERE device_id = ?", (device_id,)).fetchone()
    if row is None:
        raise Refused(f"no kiosk {device_id[:80]} (`assist fleet list` shows them)")
    return _kiosk(row, now)


def remove_kiosk(db: Database, device_id: str) -> int:
    """Take a kiosk not in use (revoked, never enrolled, its code expired) off the list, with its
    heartbeats (about a kiosk no longer there); returns how many of its take-up events stay, kept
    for `assist report`. Any code waiting stops working. A kiosk enrolled is refused: revoke it first."""
    with db_module.write(db) as conn:
        row = conn.execute("SELECT token_hash, revoked_at FROM fleet_kiosks WHERE device_id = ?",
                           (device_id,)).fetchone()
        if row is None:
            raise Refused(f"no kiosk {device_id[:80]} (`assist fleet list` shows them)")
        if _in_use(row):
            raise Refused(f"kiosk {device_id} is enrolled and in use; `assist fleet revoke {device_id}` first "
                          "to remove it")
        conn.execute("DELETE FROM fleet_heartbeats WHERE device_id = ?", (device_id,))
        conn.execute("DELETE FROM fleet_kiosks WHERE device_id = ?", (device_id,))
        kept = conn.execute("SELECT count(*) FROM fleet_events WHERE device_id = ?", (device_id,)).fetchone()
    return int(kept[0])


def revoke(db: Database, device_id: str, now: datetime) -> None:
    """End a kiosk's token (and any code not yet used): it is refused from now on."""
    with db_module.write(db) as conn:
        found = conn.execute("UPDATE fleet_kiosks SET revoked_at = ?, token_hash = NULL, code_hash = NULL "
                             "WHERE device_id = ? AND revoked_at IS NULL", (iso(now), device_id)).rowcount
    if not found:
        raise Refused(f"no kiosk {device_id} in use (`assist fleet list` shows them)")


def enrol(db: Database, device_id: str, code: str, now: datetime) -> str:
    """The kiosk's new token for its one-time code; Refused (with the reason) for a code unknown,
    used already or past its 24 hours."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with db_module.write(db) as conn:
        row = conn.execute("SELECT code_hash, code_expires_at, code_used_at FROM fleet_kiosks "
                           "WHERE device_id = ? AND revoked_at IS NULL", (device_id,)).fetchone()
        if row is None or not _matches(normalise_code(code), row[0]):
            raise Refused("no such enrolment code for this device id")
        if row[2] is not None:
            raise Refused(f"this enrolment code was used already (at {row[2]}); ask for a new one")
        if parse_iso(row[1]) <= now:
            raise Refused(f"this enrolment code expired at {row[1]}; ask for a new one")
        conn.execute("UPDATE fleet_kiosks SET code_used_at = ?, token_hash = ?, enrolled_at = ? WHERE device_id = ?",
                     (iso(now), digest(token), iso(now), device_id))
    return token


def note_refusal(db: Database, device_id: str, reason: str, now: datetime) -> None:
    """Keep why a kiosk's heartbeat was refused (the schema's words, never its body)."""
    with db_module.write(db) as conn:
        conn.execute("UPDATE fleet_kiosks SET refused_at = ?, refused_reason = ? WHERE device_id = ?",
                     (iso(now), reason[:200], device_id))


def authenticate(db: Database, device_id: str, token: str) -> str | None:
    """None when `token` is this kiosk's, else why not (for the log: the device id and this only)."""
    row = db.conn.execute("SELECT token_hash, revoked_at FROM fleet_kiosks WHERE device_id = ?",
                          (device_id,)).fetchone()
    if row is None:
        return "unknown device"
    if row[1] is not None:
        return "revoked"
    return None if _matches(token, row[0]) else "wrong token"


_COLUMNS = ("device_id, library, hours_text, timezone, created_at, enrolled_at, revoked_at, code_expires_at, hours, "
            "refused_at, refused_reason")


def _kiosk(row: Any, now: datetime) -> Kiosk:
    device_id, library, hours_text, timezone, created, enrolled, revoked, expires, week, *refused = row
    if revoked:
        state = "revoked"
    elif enrolled:
        state = "enrolled"
    else:
        state = "code expired" if parse_iso(expires) <= now else "waiting for enrolment"
    return Kiosk(device_id, library, hours_text, timezone, state, created, enrolled, revoked,
                 None if enrolled or revoked else expires, json.loads(week), *refused)


def kiosks(db: Database, now: datetime) -> list[Kiosk]:
    """Every kiosk added, by device id, with its state: enrolled, revoked, or waiting for its code."""
    return [_kiosk(row, now) for row in db.conn.execute(f"SELECT {_COLUMNS} FROM fleet_kiosks ORDER BY device_id")]


def kiosk(db: Database, device_id: str, now: datetime) -> Kiosk | None:
    """The kiosk with this device id, or None."""
    row = db.conn.execute(f"SELECT {_COLUMNS} FROM fleet_kiosks WHERE device_id = ?", (device_id,)).fetchone()
    return None if row is None else _kiosk(row, now)
