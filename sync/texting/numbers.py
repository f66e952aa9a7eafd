"""Residents' phone numbers: sealed with the store key, found again by a keyed hash, and what is
known of each (its language, an opt-out, that it cannot receive texts).

The hash key (HMAC-SHA256) is random, made once per store and itself sealed with the store key,
so a copy of the file without the key cannot even test whether a number is in it. A number that
opted out or cannot receive texts is never texted: marking it suppresses what waits for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from sync.store import db as db_module
from sync.store import iso
from sync.store.db import Conn

if TYPE_CHECKING:
    from sync.store import Store

def number_key(store: Store) -> bytes:
    """The key of the numbers' keyed hash: random, made once per store, sealed with the store key.

    Unsealed once and kept on the Store it belongs to, so a store opened again reads it afresh."""
    if store.number_key is not None:
        return store.number_key
    conn = store.db.conn
    if conn.in_transaction:
        key = _load_or_make_key(store, conn)
    else:
        with db_module.write(store.db) as connection:
            key = _load_or_make_key(store, connection)
    store.number_key = key
    return key


def _load_or_make_key(store: Store, conn: Conn) -> bytes:
    row = conn.execute("SELECT number_key FROM sms_secrets WHERE id = 1").fetchone()
    if row is None:
        fresh = base64.b64encode(os.urandom(32)).decode()
        conn.execute("INSERT INTO sms_secrets (id, number_key) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
                     (store.vault.seal(fresh),))
        row = conn.execute("SELECT number_key FROM sms_secrets WHERE id = 1").fetchone()
    return base64.b64decode(store.vault.open(row[0]))


def keyed_digest(store: Store, value: str) -> str:
    """HMAC-SHA256 of `value` under the numbers' key, in hex: what can be looked up or compared
    without being readable, and cannot be guessed back without the store key."""
    return hmac.new(number_key(store), value.encode(), hashlib.sha256).hexdigest()


def number_hash(store: Store, e164: str) -> str:
    """How a number is found in the store: its keyed hash, never the number itself."""
    return keyed_digest(store, e164)


@dataclass(frozen=True)
class Number:
    id: int
    language: str | None
    opted_out: bool
    cannot_receive: bool
    created: bool


def number_row(conn: Conn, store: Store, e164: str, now: str, *, hashed: str | None = None,
               seen: bool = True) -> Number:
    """The number's row, made if new (inside the caller's write transaction)."""
    hashed = hashed or number_hash(store, e164)
    if seen:
        row = conn.execute("UPDATE sms_numbers SET last_seen_at = ? WHERE number_hash = ? "
                           "RETURNING id, language, opted_out_at, cannot_receive_at, number IS NULL",
                           (now, hashed)).fetchone()
    else:
        row = conn.execute("SELECT id, language, opted_out_at, cannot_receive_at, number IS NULL FROM sms_numbers "
                           "WHERE number_hash = ?", (hashed,)).fetchone()
    if row is None:
        number_id = conn.execute(
            "INSERT INTO sms_numbers (number_hash, number, created_at, last_seen_at) VALUES (?, ?, ?, ?) "
            "RETURNING id", (hashed, store.vault.seal(e164), now, now)).fetchone()[0]
        return Number(number_id, None, False, False, created=True)
    if row[4]:  # purged to its hash alone (an opt-out remembered): seal the number again
        conn.execute("UPDATE sms_numbers SET number = ? WHERE id = ?", (store.vault.seal(e164), row[0]))
    return Number(row[0], row[1], row[2] is not None, row[3] is not None, created=False)


def touch_numbers(conn: Conn, number_ids: Iterable[int], now: str) -> None:
    """Numbers seen at `now` (their last contact, which the purge goes by)."""
    conn.executemany("UPDATE sms_numbers SET last_seen_at = ? WHERE id = ?",
                     [(now, number_id) for number_id in number_ids])


def set_language(conn: Conn, number_id: int, language: str) -> None:
    conn.execute("UPDATE sms_numbers SET language = ? WHERE id = ?", (language, number_id))


def _suppress_queued(conn: Conn, number_id: int, now: str, error: str) -> None:
    """What waits to be sent to this number is not sent, and its body goes."""
    conn.execute("UPDATE sms_texts SET state = 'suppressed', error = ?, body = NULL, updated_at = ? "
                 "WHERE number_id = ? AND state = 'queued'", (error, now, number_id))


def set_opted_out(conn: Conn, number_id: int, now: str, by: str) -> None:
    """No more texts of any kind to this number, until it opts in again."""
    conn.execute("UPDATE sms_numbers SET opted_out_at = coalesce(opted_out_at, ?), opted_out_by = ? WHERE id = ?",
                 (now, by, number_id))
    _suppress_queued(conn, number_id, now, "opted out")


def set_opted_in(conn: Conn, number_id: int) -> None:
    conn.execute("UPDATE sms_numbers SET opted_out_at = NULL, opted_out_by = NULL, cannot_receive_at = NULL, "
                 "cannot_receive_reason = NULL WHERE id = ?", (number_id,))


def set_cannot_receive(conn: Conn, number_id: int, now: str, reason: str) -> None:
    conn.execute("UPDATE sms_numbers SET cannot_receive_at = coalesce(cannot_receive_at, ?), "
                 "cannot_receive_reason = ? WHERE id = ?", (now, reason, number_id))
    _suppress_queued(conn, number_id, now, f"cannot receive texts: {reason}")


def opt_out(store: Store, e164: str, by: str = "staff") -> None:
    """Record an opt-out from outside a conversation (staff, or an import)."""
    hashed = number_hash(store, e164)
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        number = number_row(conn, store, e164, now, hashed=hashed)
        set_opted_out(conn, number.id, now, by)


_STATE_COLUMNS = ("id", "language", "opted_out_at", "opted_out_by", "cannot_receive_at", "cannot_receive_reason")


def number_state(store: Store, e164: str) -> dict[str, Any] | None:
    """What is recorded about a number (for staff and tests): never the number itself."""
    row = store.db.conn.execute(f"SELECT {', '.join(_STATE_COLUMNS)} FROM sms_numbers WHERE number_hash = ?",
                                (number_hash(store, e164),)).fetchone()
    return dict(zip(_STATE_COLUMNS, row)) if row is not None else None
