"""Inbound messages taken in, inside the webhook's write transaction: each claimed once by its
MessageSid, and counted against the rate limits.

A claim is an atomic INSERT ... ON CONFLICT DO NOTHING, so a webhook Twilio retries is answered
again with the reply it was given (kept sealed) without being acted on twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from sync.store.db import Conn

if TYPE_CHECKING:
    from sync.store import Store


def claim_inbound(conn: Conn, message_sid: str, now: str, number_id: int | None = None,
                  reply: bytes | None = None) -> bool:
    """Atomically claim an inbound MessageSid with the (sealed) reply given to it: False if it
    was seen before (a retry), and nothing is written."""
    return conn.execute("INSERT INTO sms_inbound (message_sid, received_at, number_id, reply) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (message_sid) DO NOTHING", (message_sid, now, number_id, reply)).rowcount == 1


def inbound_reply(conn: Conn, store: Store, message_sid: str) -> str | None:
    """The reply given to a MessageSid seen before ("" for none, None if still unanswered)."""
    row = conn.execute("SELECT reply FROM sms_inbound WHERE message_sid = ?", (message_sid,)).fetchone()
    if not row or row[0] is None:
        return None
    reply: str = store.vault.open(row[0])
    return reply


def count_message(conn: Conn, scope: str, bucket: str, now: str, messages: int = 1) -> tuple[int, bool]:
    """Count messages in a rate-limit window: (messages so far, whether already warned)."""
    count, warned = conn.execute(
        "INSERT INTO sms_rate (scope, bucket, count, at) VALUES (?, ?, ?, ?) ON CONFLICT (scope, bucket) "
        "DO UPDATE SET count = sms_rate.count + excluded.count RETURNING count, warned",
        (scope, bucket, messages, now)).fetchone()
    return count, bool(warned)


def mark_warned(conn: Conn, scope: str, bucket: str) -> None:
    conn.execute("UPDATE sms_rate SET warned = 1 WHERE scope = ? AND bucket = ?", (scope, bucket))


def rate_count(conn: Conn, scope: str, bucket: str) -> tuple[int, bool]:
    """A rate-limit window as stored: (messages so far, whether already warned)."""
    row = conn.execute("SELECT count, warned FROM sms_rate WHERE scope = ? AND bucket = ?", (scope, bucket)).fetchone()
    return (row[0], bool(row[1])) if row else (0, False)


def set_counts(conn: Conn, rows: Iterable[tuple[str, str, int, bool, str]]) -> None:
    """Write rate-limit windows counted elsewhere, (scope, bucket, count, warned, at) each: one
    statement for a whole batch of messages."""
    conn.executemany(
        "INSERT INTO sms_rate (scope, bucket, count, warned, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, bucket) "
        "DO UPDATE SET count = excluded.count, warned = CASE WHEN sms_rate.warned > excluded.warned "
        "THEN sms_rate.warned ELSE excluded.warned END",
        [(scope, bucket, count, 1 if warned else 0, at) for scope, bucket, count, warned, at in rows])
