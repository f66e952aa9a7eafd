"""What the SMS provider says happened to each text it took.

Twilio calls back with each delivery status; GOV.UK Notify does not call a kiosk back (it has no
public address), so the worker asks Notify about each sent text instead. Either way, each
(MessageSid, status) is taken once and a text's status only moves forward, whatever order the
statuses arrive in; a status that says the number cannot take texts, or opted out, is recorded
on the number so it is never texted again.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sync.store import db as db_module
from sync.store import iso, parse_iso
from sync.store.db import Conn
from sync.texting.numbers import set_cannot_receive, set_opted_out

if TYPE_CHECKING:
    from sync.store import Store

#: Twilio's delivery statuses in the order a message goes through them; the finals share a rank.
DELIVERY_RANK = {
    "accepted": 0, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "canceled": 5, "partially_delivered": 5,
    "read": 6,
    # GOV.UK Notify's, for the same column
    "created": 2, "pending": 4, "permanent-failure": 5, "temporary-failure": 5, "technical-failure": 5,
}
#: The statuses after which nothing more will be heard of a text (the last rank).
SETTLED = frozenset(status for status, rank in DELIVERY_RANK.items() if rank >= 5)
#: Delivery error codes that mean the number cannot receive texts (Twilio: unknown destination,
#: landline or unreachable carrier).
CANNOT_RECEIVE_DELIVERY_CODES = frozenset({"30005", "30006"})
#: GOV.UK Notify's status for a text the phone network would not deliver: a wrong number, or one
#: that cannot take texts (Notify's own words: "the provider could not deliver the message").
NOTIFY_PERMANENT_FAILURE = "permanent-failure"
#: Notify's status for a text it could not send at all ("you'll have to try sending it again").
NOTIFY_TECHNICAL_FAILURE = "technical-failure"
OPTED_OUT_CODE = "21610"

# The worker asks Notify about each sent text when `next_attempt_at` says (for a text already
# sent, it is when to ask next): soon after sending, then less and less often, for as long as
# Notify can still change its mind (it gives up delivering after 72 hours).
DELIVERY_FIRST_CHECK = timedelta(minutes=1)
DELIVERY_CHECK_FOR = timedelta(hours=80)


def record_delivery(store: Store, message_sid: str, status: str, error_code: str | None = None) -> bool:
    """A delivery status callback. Each (MessageSid, status) is taken once; a text's status
    only moves forward, whatever order callbacks arrive in. Returns False for a repeat."""
    status = (status or "").strip().lower()[:40]
    error_code = (error_code or "").strip()[:16] or None
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        if conn.execute("INSERT INTO sms_status_events (message_sid, status, error_code, received_at) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        (message_sid, status, error_code, now)).rowcount == 0:
            return False
        apply_status(conn, message_sid)
        _settle_notify(conn, message_sid, now)
        if error_code or status == NOTIFY_PERMANENT_FAILURE:
            _record_number_problem(conn, message_sid, status, error_code, now)
    return True


def _record_number_problem(conn: Conn, message_sid: str, status: str, error_code: str | None,
                           now: str) -> None:
    """A status that says the number opted out or cannot take texts is kept on the number."""
    row = conn.execute("SELECT number_id FROM sms_texts WHERE provider_id = ?", (message_sid,)).fetchone()
    if row is None:
        return
    if error_code == OPTED_OUT_CODE:
        set_opted_out(conn, row[0], now, "provider")
    elif error_code in CANNOT_RECEIVE_DELIVERY_CODES and status in ("undelivered", "failed"):
        set_cannot_receive(conn, row[0], now, f"delivery error {error_code}")
    elif status == NOTIFY_PERMANENT_FAILURE:
        set_cannot_receive(conn, row[0], now, "Notify: permanent failure")


def apply_status(conn: Conn, message_sid: str) -> None:
    """Set the text's provider status to the furthest one received so far (a status can arrive
    before the provider's answer to the send is recorded: it is applied then)."""
    text = conn.execute("SELECT id, provider_status FROM sms_texts WHERE provider_id = ?", (message_sid,)).fetchone()
    if text is None:
        return
    best = text[1]
    for (status,) in conn.execute("SELECT status FROM sms_status_events WHERE message_sid = ? ORDER BY received_at",
                                  (message_sid,)):
        if DELIVERY_RANK.get(status, -1) > DELIVERY_RANK.get(best or "", -1):
            best = status
    if best != text[1]:
        conn.execute("UPDATE sms_texts SET provider_status = ? WHERE id = ?", (best, text[0]))


def _settle_notify(conn: Conn, notification_id: str, now: str) -> None:
    """A text sent through Notify whose fate is now known: its body goes, unless Notify's
    technical failure says it was never sent, when it is queued to be sent again (as a new
    notification; the old id is let go, so its late statuses touch nothing)."""
    row = conn.execute("SELECT id, provider_status FROM sms_texts WHERE provider_id = ? AND state = 'sent' "
                       "AND provider = 'notify' AND body IS NOT NULL", (notification_id,)).fetchone()
    if row is None or row[1] not in SETTLED:
        return
    if row[1] == NOTIFY_TECHNICAL_FAILURE:
        conn.execute("UPDATE sms_texts SET state = 'queued', provider_id = NULL, provider_status = NULL, "
                     "next_attempt_at = ?, updated_at = ?, error = 'Notify could not send it (technical failure): "
                     "sending again' WHERE id = ?", (now, now, row[0]))
    else:
        conn.execute("UPDATE sms_texts SET body = NULL, updated_at = ? WHERE id = ?", (now, row[0]))


def deliveries_to_check(store: Store, provider: str, limit: int) -> list[tuple[int, str, datetime]]:
    """Sent texts whose delivery is not known yet and is due to be asked about: (id, the
    provider's id, when sent), the longest waiting first."""
    now_moment = store.clock()
    final = sorted(SETTLED)
    rows = store.db.conn.execute(
        "SELECT id, provider_id, sent_at FROM sms_texts WHERE state = 'sent' AND provider = ? AND next_attempt_at <= ? "
        f"AND sent_at >= ? AND provider_id IS NOT NULL AND coalesce(provider_status, '') NOT IN "
        f"({', '.join('?' * len(final))}) ORDER BY next_attempt_at, id LIMIT ?",
        (provider, iso(now_moment), iso(now_moment - DELIVERY_CHECK_FOR), *final, limit)).fetchall()
    return [(row[0], row[1], parse_iso(row[2])) for row in rows]


def delivery_checked(store: Store, text_id: int, sent_at: datetime) -> datetime:
    """The text's status was asked for (answered or not): when to ask again, a quarter of its
    age from now (at least a minute), so a text to a phone that is off is asked about a few
    dozen times over its 72 hours, not every round."""
    now_moment: datetime = store.clock()
    due = now_moment + max(DELIVERY_FIRST_CHECK, (now_moment - sent_at) / 4)
    with db_module.write(store.db) as conn:
        conn.execute("UPDATE sms_texts SET next_attempt_at = ? WHERE id = ? AND state = 'sent'", (iso(due), text_id))
    return due
