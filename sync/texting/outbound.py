"""The outbound texts queue: the only way a text reaches a resident.

A text is queued once per dedupe key (one status text per change, one reference text per
submission), claimed with a lease like the outbox, and written `sending` before it leaves: a text
found `sending` after a crash is never sent again, so a resident is never texted twice. Passing
failures (429, 5xx, lost connections) are retried with backoff, and a text not sent in time is
given up. The worker alone sends (sync/texting/sender.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sync.store import UNOPENABLE, UNOPENABLE_ERRORS, iso, parse_iso
from sync.store import db as db_module
from sync.store.db import Conn
from sync.texting.deliveries import DELIVERY_FIRST_CHECK, apply_status
from sync.texting.numbers import number_hash, number_row, set_cannot_receive, set_opted_out
from sync.texting.segments import normalise, segments

if TYPE_CHECKING:
    from sync.store import Store

log = logging.getLogger(__name__)

TEXT_STATES = ("queued", "sending", "sent", "failed", "suppressed")


@dataclass(frozen=True)
class Queued:
    id: int | None
    state: str  # queued, suppressed, or the state of the text already queued under the same key
    created: bool


def queue_text(store: Store, e164: str, body: str, *, kind: str, dedupe_key: str, language: str,
               submission_id: int | None = None) -> Queued:
    """Queue a text for the worker to send, once per `dedupe_key`. A number that opted out or
    cannot receive texts is never texted: the text is recorded as suppressed."""
    body = normalise(body)
    hashed = number_hash(store, e164)
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        number = number_row(conn, store, e164, now, hashed=hashed, seen=False)
        state = "suppressed" if number.opted_out or number.cannot_receive else "queued"
        error = ("opted out" if number.opted_out else "cannot receive texts") if state == "suppressed" else None
        inserted = conn.execute(
            "INSERT INTO sms_texts (dedupe_key, number_id, submission_id, kind, language, body, segments, state, "
            "next_attempt_at, error, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
            (dedupe_key, number.id, submission_id, kind, language,
             store.vault.seal(body) if state == "queued" else None, segments(body), state, now, error, now, now),
        ).fetchone()
        if inserted is None:
            row = conn.execute("SELECT id, state FROM sms_texts WHERE dedupe_key = ?", (dedupe_key,)).fetchone()
            return Queued(row[0], row[1], created=False)
    log.info("text %s %s (%s, %d segment(s))", inserted[0], state, kind, segments(body))
    return Queued(inserted[0], state, created=True)


@dataclass(frozen=True)
class OutboundText:
    """A text a sender holds the lease on: the only place a number is opened to be sent to."""

    id: int
    number: str
    body: str
    kind: str
    language: str
    attempts: int
    created_at: datetime
    dedupe_key: str


def claim_texts(store: Store, owner: str, limit: int, *, lease: timedelta,
                give_up_after: timedelta) -> list[OutboundText]:
    """Take the lease on due texts, writing `sending` before any leaves, after clearing out
    what must not be sent (`_clear_unsendable`).

    A text whose number or body cannot be opened is failed (never sent) with the reason
    UNOPENABLE, which `assist sync status` counts, and the claim goes on without it."""
    now_moment = store.clock()
    now = iso(now_moment)
    _clear_unsendable(store, now_moment, give_up_after)
    while True:
        with db_module.write(store.db) as conn:
            rows = conn.execute(
                "UPDATE sms_texts SET state = 'sending', lease_owner = ?, lease_expires_at = ?, "
                "attempts = attempts + 1, updated_at = ? WHERE id IN (SELECT id FROM sms_texts WHERE state = 'queued' "
                "AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?) "
                "RETURNING id, number_id, body, kind, language, attempts, created_at, dedupe_key",
                (owner, iso(now_moment + lease), now, now, limit)).fetchall()
            opened, unreadable = _open_texts(conn, store, rows)
            for text_id in unreadable:
                conn.execute("UPDATE sms_texts SET state = 'failed', body = NULL, lease_owner = NULL, "
                             "lease_expires_at = NULL, updated_at = ?, error = ? WHERE id = ?",
                             (now, UNOPENABLE, text_id))
        for text_id in unreadable:
            log.error("text %s %s; failed, not sent", text_id, UNOPENABLE)
        if opened or not unreadable:  # a batch of nothing but unreadable texts: take the next one
            return sorted(opened, key=lambda text: text.id)


def _clear_unsendable(store: Store, now_moment: datetime, give_up_after: timedelta) -> None:
    """Before a claim: texts to numbers that opted out or cannot receive are suppressed, stale
    ones given up, and a text found `sending` after its lease lapsed (a sender crashed
    mid-send) is failed, never resent."""
    now = iso(now_moment)
    with db_module.write(store.db) as conn:
        conn.execute(
            "UPDATE sms_texts SET state = 'suppressed', body = NULL, updated_at = ?, error = 'opted out or cannot "
            "receive texts' WHERE state = 'queued' AND number_id IN (SELECT id FROM sms_numbers WHERE "
            "opted_out_at IS NOT NULL OR cannot_receive_at IS NOT NULL)", (now,))
        conn.execute(
            "UPDATE sms_texts SET state = 'failed', body = NULL, updated_at = ?, error = coalesce(error || '; ', '') "
            "|| 'given up: not sent in time' WHERE state = 'queued' AND created_at < ?",
            (now, iso(now_moment - give_up_after)))
        lapsed = conn.execute(
            "UPDATE sms_texts SET state = 'failed', body = NULL, lease_owner = NULL, lease_expires_at = NULL, "
            "updated_at = ?, error = 'interrupted while sending; not sent again so as never to text twice' "
            "WHERE state = 'sending' AND lease_expires_at <= ? RETURNING id", (now, now)).fetchall()
    for (text_id,) in lapsed:
        log.warning("text %s was interrupted while sending; not sent again", text_id)


def _open_texts(conn: Conn, store: Store,
                rows: list[Any]) -> tuple[list[OutboundText], list[int]]:
    """The claimed rows opened as texts, and the ids of those whose number or body do not open."""
    numbers: dict[int, Any] = {}
    opened, unreadable = [], []
    for row in rows:
        try:
            if row[1] not in numbers:
                sealed = conn.execute("SELECT number FROM sms_numbers WHERE id = ?", (row[1],)).fetchone()
                numbers[row[1]] = store.vault.open(sealed[0]) if sealed else None
            body = store.vault.open(row[2])
        except UNOPENABLE_ERRORS:
            unreadable.append(row[0])
            continue
        opened.append(OutboundText(id=row[0], number=numbers[row[1]], body=body, kind=row[3], language=row[4],
                                   attempts=row[5], created_at=parse_iso(row[6]), dedupe_key=row[7]))
    return opened, unreadable


def _finish(store: Store, text_id: int, owner: str, changes: dict[str, Any]) -> bool:
    """Apply `changes` to a text this owner still holds; False if the lease was lost."""
    now = iso(store.clock())
    values = {"lease_owner": None, "lease_expires_at": None, "updated_at": now, **changes}
    with db_module.write(store.db) as conn:
        changed = conn.execute(
            f"UPDATE sms_texts SET {', '.join(f'{key} = ?' for key in values)} WHERE id = ? AND state = 'sending' "
            "AND lease_owner = ?", (*values.values(), text_id, owner)).rowcount
    return bool(changed)


def text_sent(store: Store, text_id: int, owner: str, *, provider: str, provider_id: str,
              provider_status: str | None) -> bool:
    """The provider took the text: its id is kept to match delivery statuses, and the body goes
    (sent through Notify, it stays sealed until Notify says how it went: a technical failure
    there means it was not sent, and it is sent again)."""
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        changed = conn.execute(
            "UPDATE sms_texts SET state = 'sent', body = CASE WHEN :provider = 'notify' THEN body END, "
            "provider = :provider, provider_id = :provider_id, provider_status = coalesce(provider_status, :status), "
            "sent_at = :now, updated_at = :now, lease_owner = NULL, lease_expires_at = NULL, error = NULL, "
            "next_attempt_at = :ask WHERE id = :id AND state = 'sending' AND lease_owner = :owner",
            {"provider": provider, "provider_id": provider_id, "status": provider_status, "now": now,
             "ask": iso(store.clock() + DELIVERY_FIRST_CHECK), "id": text_id, "owner": owner}).rowcount
        if changed and provider_status:
            # a delivery status that arrived before this answer was recorded (statuses race the API)
            apply_status(conn, provider_id)
    return bool(changed)


def text_retry(store: Store, text_id: int, owner: str, error: str, *, attempts: int,
               retry_after: float | None = None) -> datetime:
    """A passing failure (429, 5xx, no connection): back to `queued`, due after a backoff."""
    delay = retry_after if retry_after is not None else store.backoff_delay(attempts)
    due: datetime = store.clock() + timedelta(seconds=max(delay, 1.0))
    _finish(store, text_id, owner, {"state": "queued", "next_attempt_at": iso(due), "error": error})
    return due


def text_failed(store: Store, text_id: int, owner: str, error: str, *, number_problem: str | None = None) -> bool:
    """A permanent failure. `number_problem` "opted_out" or "cannot_receive" is recorded on
    the number too, so it is never texted again (until it opts back in)."""
    now = iso(store.clock())
    with db_module.write(store.db) as conn:
        row = conn.execute("SELECT number_id FROM sms_texts WHERE id = ? AND state = 'sending' AND lease_owner = ?",
                           (text_id, owner)).fetchone()
        if row is None:
            return False
        conn.execute("UPDATE sms_texts SET state = 'failed', body = NULL, error = ?, updated_at = ?, "
                     "lease_owner = NULL, lease_expires_at = NULL WHERE id = ?", (error, now, text_id))
        if number_problem == "opted_out":
            set_opted_out(conn, row[0], now, "provider")
        elif number_problem == "cannot_receive":
            set_cannot_receive(conn, row[0], now, error)
    return True


def text_states(store: Store) -> dict[str, int]:
    """Texts by state, for `assist sms status` and /healthz."""
    found = dict(store.db.conn.execute("SELECT state, count(*) FROM sms_texts GROUP BY state").fetchall())
    return {state: found.get(state, 0) for state in TEXT_STATES}


def unopenable_count(store: Store) -> int:
    """Texts failed because they could not be opened with this store's key (`assist sync status`)."""
    count: int = store.db.conn.execute("SELECT count(*) FROM sms_texts WHERE state = 'failed' AND error = ?",
                                       (UNOPENABLE,)).fetchone()[0]
    return count
