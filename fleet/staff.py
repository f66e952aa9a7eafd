"""Who may read the fleet page: staff accounts, their sign-ins and their sessions.

A password is kept only as its argon2id hash (the one way the project hashes a secret a person
chose: sync/store/pins.py). Five sign-ins refused in a row lock the account for 15 minutes, so a
password cannot be guessed at the page's speed; an unknown name costs the same hash, so the
page does not tell which names exist. A session is a random id in the browser's cookie; the
service keeps only its SHA-256 (random and long, so a fast hash is enough, as with the kiosks'
tokens in fleet/registry.py), so that sign-out and `assist fleet remove-staff` end it at once,
which a signed cookie alone could not, and no new secret has to be configured and kept.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from starlette.concurrency import run_in_threadpool

from fleet.registry import Refused, digest
from sync.store import db as db_module
from sync.store.db import Database
from sync.store.pins import hash_pin, matches
from sync.store.times import iso, parse_iso

MAX_FAILURES = 5
LOCK_OUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD = 12
NAME_CHARS = 64
#: Passwords checked at once at most (64 MiB each: deploy/assist-fleet.service's MemoryMax is 512M).
HASHES_AT_ONCE = 2
_HASHING = threading.BoundedSemaphore(HASHES_AT_ONCE)


def add(db: Database, name: str, password: str, now: datetime) -> None:
    """A new staff account; Refused for a name taken or unusable, or a password too short."""
    name = name.strip()
    if not name or len(name) > NAME_CHARS or not name.isprintable():
        raise Refused(f"a staff name is 1 to {NAME_CHARS} printable characters")
    if len(password) < MIN_PASSWORD:
        raise Refused(f"a password is at least {MIN_PASSWORD} characters long")
    with db_module.write(db) as conn:
        if conn.execute("SELECT 1 FROM fleet_staff WHERE name = ?", (name,)).fetchone():
            raise Refused(f"there is a staff account {name!r} already")
        conn.execute("INSERT INTO fleet_staff (name, password_hash, created_at) VALUES (?, ?, ?)",
                     (name, hash_pin(password), iso(now)))


def remove(db: Database, name: str) -> None:
    """End a staff account and every session it has."""
    with db_module.write(db) as conn:
        conn.execute("DELETE FROM fleet_sessions WHERE staff = ?", (name,))
        if not conn.execute("DELETE FROM fleet_staff WHERE name = ?", (name,)).rowcount:
            raise Refused(f"no staff account {name!r}")


@cache
def _decoy() -> str:
    return hash_pin(secrets.token_hex(16))


class LockedOut(Exception):
    """Too many sign-ins refused: the account is locked until `until`."""

    def __init__(self, until: str) -> None:
        super().__init__(until)
        self.until = until


async def check(db: Database, name: str, password: str, now: datetime) -> bool:
    """Whether `password` is `name`'s. Counts a refusal; LockedOut while locked (the password unchecked).

    Each attempt is counted before its hash is checked, in one write: guesses sent all at once
    each take the next number, so no more than MAX_FAILURES of them are ever checked before the
    account locks. The hash is checked in a worker thread: it takes a tenth of a second on
    purpose, and on the service's event loop every sign-in (a guesser's too) would hold up every
    kiosk's heartbeat. The store is read and written here, on the loop, as everywhere else."""
    attempt = _count_attempt(db, name, now)
    if attempt is None:
        await run_in_threadpool(_verify, None, password)
        return False
    stored, number = attempt
    good = await run_in_threadpool(_verify, stored, password)
    if good or number == MAX_FAILURES:
        locked = None if good else iso(now + LOCK_OUT)
        with db_module.write(db) as conn:
            conn.execute("UPDATE fleet_staff SET failures = 0, locked_until = coalesce(?, locked_until) "
                         "WHERE name = ?", (locked, name))
        if locked:
            raise LockedOut(locked)
    return good


def _count_attempt(db: Database, name: str, now: datetime) -> tuple[str, int] | None:
    """The account's hash and this attempt's number in the run of refusals (None: no such account);
    LockedOut while locked, or when attempts already under way have used up the account's tries."""
    locked: str | None = None
    with db_module.write(db) as conn:
        row = conn.execute("SELECT password_hash, failures, locked_until FROM fleet_staff WHERE name = ?",
                           (name,)).fetchone()
        if row is None:
            return None
        stored, failures, locked_until = row
        if locked_until is not None and parse_iso(locked_until) > now:
            locked = locked_until
        elif failures >= MAX_FAILURES:  # tries used up by attempts under way, or by one that never finished
            locked = iso(now + LOCK_OUT)
            conn.execute("UPDATE fleet_staff SET failures = 0, locked_until = ? WHERE name = ?", (locked, name))
        else:
            conn.execute("UPDATE fleet_staff SET failures = failures + 1 WHERE name = ?", (name,))
    if locked:  # raised once the lock is written: inside, the write would be rolled back with it
        raise LockedOut(locked)
    return stored, failures + 1


def _verify(stored: str | None, password: str) -> bool:
    """Whether `password` is the one `stored` was made from (None: no such account, the decoy's
    time spent all the same). HASHES_AT_ONCE at most: argon2 takes 64 MiB and a core for a tenth of
    a second, so a flood of sign-ins waits its turn within the unit's MemoryMax, on any server."""
    with _HASHING:
        return matches(stored or _decoy(), password) and stored is not None


@dataclass(frozen=True)
class Session:
    staff: str
    csrf: str
    #: Signed in by the council's single sign-on (fleet/sso.py), not by this service's password.
    sso: bool = False


#: Where each kind of session is kept: a password's (its account's), or single sign-on's (no account).
SESSIONS = {False: "fleet_sessions", True: "fleet_sso_sessions"}


def start(db: Database, name: str, now: datetime, *, sso: bool = False) -> tuple[str, Session]:
    """A new session for `name`: the id for the browser's cookie (kept here only as its hash)."""
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with db_module.write(db) as conn:
        conn.execute(f"DELETE FROM {SESSIONS[sso]} WHERE expires_at < ?", (iso(now),))
        conn.execute(f"INSERT INTO {SESSIONS[sso]} (id_hash, staff, csrf, created_at, expires_at) "
                     "VALUES (?, ?, ?, ?, ?)", (digest(session_id), name, csrf, iso(now), iso(now + SESSION_LIFETIME)))
    return session_id, Session(name, csrf, sso)


def find(db: Database, session_id: str, now: datetime, *, sso: bool = False) -> Session | None:
    """The session a cookie's id names, if it is one and has not ended."""
    if not session_id:
        return None
    row = db.conn.execute(f"SELECT staff, csrf, expires_at FROM {SESSIONS[sso]} WHERE id_hash = ?",
                          (digest(session_id),)).fetchone()
    if row is None or parse_iso(row[2]) <= now:
        return None
    return Session(row[0], row[1], sso)


def end(db: Database, session_id: str, *, sso: bool = False) -> None:
    with db_module.write(db) as conn:
        conn.execute(f"DELETE FROM {SESSIONS[sso]} WHERE id_hash = ?", (digest(session_id),))


def same(expected: str, given: str) -> bool:
    """Whether a form's CSRF token is the one expected (in constant time; never for an empty one)."""
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())
