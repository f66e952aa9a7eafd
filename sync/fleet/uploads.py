"""The take-up figures a kiosk owes the fleet service: its session events since the last one
acknowledged, and a record of each finished submission not yet sent.

Each id is the row's number and a few characters of something random about it (the visit's
session id; a hash of when the submission was made): a store restored from a backup numbers its
new rows where the lost ones were, and the service must not take those for ones it has.

A submission's record is sent once it is finished (accepted, cancelled or exported: states it
never leaves), so that the time to acceptance is known when it goes, and it carries its channel,
service and times only: never its reference, its answers or anything about the resident.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.fleet.formats import FORMAT_VERSION, SESSION_PREFIX, SUBMISSION, SUBMISSION_PREFIX

if TYPE_CHECKING:
    from sync.store.store import Store

#: Events and records in one batch, at most (a batch is well within the service's size limit).
BATCH_SIZE = 500
#: A finished submission's states: it leaves none of them.
FINISHED = ("accepted", "cancelled", "exported")


@dataclass
class Batch:
    """One batch to send, and what to mark acknowledged once the service has it."""

    items: list[dict[str, Any]] = field(default_factory=list)
    events_until: int = 0
    submission_ids: list[int] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "events": self.items}


def next_batch(store: Store, store_id: str, events_after: int, size: int = BATCH_SIZE) -> Batch:
    """The oldest events after `events_after` and the finished submissions not yet sent, `size` at most."""
    batch = Batch(events_until=events_after)
    rows = store.db.conn.execute(
        "SELECT id, event, at, session, channel, service_code, language, step, assisted FROM session_events "
        "WHERE id > ? ORDER BY id LIMIT ?", (events_after, size)).fetchall()
    for event_id, kind, at, session, channel, service_code, language, step, assisted in rows:
        batch.items.append({"store_id": store_id, "event_id": f"{SESSION_PREFIX}{event_id}.{session[:8]}",
                            "kind": kind, "at": at, "session": session, "channel": channel,
                            "service_code": service_code, "language": language, "step": step,
                            "assisted": bool(assisted)})
        batch.events_until = event_id
    finished = store.db.conn.execute(
        f"SELECT s.id, s.channel, s.service_code, s.created_at, s.accepted_at, s.state FROM submissions s "
        f"LEFT JOIN fleet_sent_submissions f ON f.submission_id = s.id "
        f"WHERE f.submission_id IS NULL AND s.state IN ({', '.join('?' * len(FINISHED))}) ORDER BY s.id LIMIT ?",
        (*FINISHED, size - len(rows))).fetchall()
    for submission_id, channel, service_code, created_at, accepted_at, state in finished:
        made = hashlib.sha256(created_at.encode()).hexdigest()[:8]
        batch.items.append({"store_id": store_id, "event_id": f"{SUBMISSION_PREFIX}{submission_id}.{made}",
                            "kind": SUBMISSION, "channel": channel, "service_code": service_code,
                            "created_at": created_at, "accepted_at": accepted_at, "outcome": state})
        batch.submission_ids.append(submission_id)
    return batch
