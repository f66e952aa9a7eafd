"""How long texting keeps personal data, and the purge that enforces it beside `Store.purge`."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sync.store import db as db_module
from sync.store import iso
from sync.texting.deliveries import DELIVERY_CHECK_FOR

if TYPE_CHECKING:
    from sync.store import Store

#: How long a MessageSid is remembered to answer Twilio's retries (which come within minutes).
INBOUND_KEPT = timedelta(days=2)
#: How long a rate-limit window is kept: longer than the longest window counted (an hour).
RATE_KEPT = timedelta(hours=3)


def purge(store: Store, *, retention: timedelta | None = None) -> dict[str, int]:
    """Purge texting's personal data: expired conversations, old inbound claims and rate
    counts, finished texts and delivery events older than the retention period, and numbers not
    seen for that long. A number that opted out keeps only its keyed hash, so the opt-out is
    still honoured and the number itself is gone."""
    retention = retention or store.retention
    now_moment = store.clock()
    now = iso(now_moment)
    cutoff = iso(now_moment - retention)
    with db_module.write(store.db) as conn:
        counts = {
            "conversations": conn.execute("DELETE FROM sms_conversations WHERE expires_at <= ?", (now,)).rowcount,
            "inbound": conn.execute("DELETE FROM sms_inbound WHERE received_at < ?",
                                    (iso(now_moment - INBOUND_KEPT),)).rowcount,
            "rate": conn.execute("DELETE FROM sms_rate WHERE at < ?", (iso(now_moment - RATE_KEPT),)).rowcount,
            "texts": conn.execute("DELETE FROM sms_texts WHERE created_at < ? AND state NOT IN ('queued', 'sending')",
                                  (cutoff,)).rowcount,
            # a text Notify never gave a final word on keeps its body no longer than it is asked about
            "sent_bodies": conn.execute("UPDATE sms_texts SET body = NULL WHERE state = 'sent' AND body IS NOT NULL "
                                        "AND sent_at < ?", (iso(now_moment - DELIVERY_CHECK_FOR),)).rowcount,
            "events": conn.execute("DELETE FROM sms_status_events WHERE received_at < ?", (cutoff,)).rowcount,
        }
        idle = ("last_seen_at < ? AND id NOT IN (SELECT number_id FROM sms_texts) "
                "AND id NOT IN (SELECT number_id FROM sms_conversations)")
        counts["numbers"] = conn.execute(f"DELETE FROM sms_numbers WHERE {idle} AND opted_out_at IS NULL",
                                         (cutoff,)).rowcount
        counts["numbers_kept_as_opt_out"] = conn.execute(
            f"UPDATE sms_numbers SET number = NULL WHERE {idle} AND opted_out_at IS NOT NULL AND number IS NOT NULL",
            (cutoff,)).rowcount
    return counts
