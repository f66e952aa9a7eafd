"""Residents' follow-ups: "it is not fixed" or a short comment on a request the council has.

A follow-up is saved here first, like a submission (`FollowUps.add`, from the kiosk's status page
or a text); the worker's sync.open311.followup_sender sends it exactly once. This module is what
the channels import, so it calls nothing out.

Personal data: the comment and the original's place are sealed with the store's Vault, purged
once sent and with the retention purge (`purge_hook`, called from `Store.purge`), and never logged
or put in an error: logs carry the reference and the follow-up's number only. The request's
history gets a line with no personal data ("not_fixed_sent").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sync import reference as reference_module
from sync.crypto import Vault
from sync.store import db as db_module
from sync.store.db import Conn
from sync.store.states import UNOPENABLE, UNOPENABLE_ERRORS
from sync.store.times import iso, parse_iso

if TYPE_CHECKING:
    from sync.store import Store

log = logging.getLogger(__name__)

KINDS = ("not_fixed", "comment")
CHANNELS = ("kiosk", "sms")
#: The longest comment taken: a follow-up is a line or two, not a new report.
COMMENT_MAX = 500
#: Statuses of the request's history for a follow-up (source 'local', never personal data).
HISTORY = {("not_fixed", "sent"): "not_fixed_sent", ("comment", "sent"): "comment_sent",
           ("not_fixed", "needs_attention"): "followup_held", ("comment", "needs_attention"): "followup_held"}
LEASE = timedelta(seconds=120)


class Refusal(Exception):
    """A follow-up that cannot be taken, classified for the channel's message: `unknown` (no such
    reference here), `not_accepted` (the council does not have the request yet, or never will
    from here), `closed` (a comment on a closed request: say "not fixed" to reopen it), `empty`
    (a comment with no words)."""

    def __init__(self, outcome: str, reference: str) -> None:
        super().__init__(f"{outcome}: {reference}")
        self.outcome, self.reference = outcome, reference


@dataclass(frozen=True)
class Added:
    id: int
    reference: str  # canonical
    number: int
    kind: str

    @property
    def update_id(self) -> str:
        return update_id(self.reference, self.number)


def update_id(reference: str, number: int) -> str:
    """Our own id for a follow-up: canonical reference and number (no hyphens in the reference,
    so the worker's search for `[assist reference K7Q-4MB-XP9Z]` never mistakes it)."""
    return f"{reference}-{number}"


def tag(reference: str, number: int) -> str:
    """What a follow-up's description carries at the council, so it can be found there again."""
    return f"[assist follow-up {update_id(reference, number)}]"


@dataclass(frozen=True)
class Due:
    """A follow-up a sender holds the lease on, with what it needs to send it."""

    id: int
    submission_id: int
    reference: str
    number: int
    kind: str
    comment: str
    original: dict[str, Any]
    state: str
    route: str | None
    attempts: int
    created_at: datetime
    first_sent_at: datetime | None
    service_code: str
    backoffice: str
    device_id: str
    service_request_id: str

    @property
    def label(self) -> str:
        """What logs may say: the reference and the number, nothing the resident wrote."""
        return f"{reference_module.display(self.reference)} follow-up {self.number}"


class FollowUps:
    """The follow-ups kept in a Store (wraps it: the Store itself stays as it is)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def _now(self) -> str:
        return iso(self.store.clock())

    def add(self, reference: str, kind: str, comment: str = "", *, channel: str) -> Added:
        """Save a follow-up to the request `reference`, or raise Refusal. Inside a channel's own
        write transaction it is a savepoint of it (the SMS bot's batch)."""
        if kind not in KINDS or channel not in CHANNELS:
            raise ValueError(f"unknown follow-up kind or channel: {kind!r}, {channel!r}")
        comment = " ".join((comment or "").split())[:COMMENT_MAX]
        canonical = reference_module.parse(reference) or ""
        shown = reference_module.display(canonical) if canonical else "(mistyped)"
        if kind == "comment" and not comment:
            raise Refusal("empty", shown)
        with db_module.write(self.store.db) as conn:
            row = conn.execute("SELECT id, state, closed_at, payload FROM submissions WHERE reference = ?",
                               (canonical,)).fetchone()
            if row is None:
                raise Refusal("unknown", shown)
            submission_id, state, closed_at, payload = row
            if state != "accepted":
                raise Refusal("not_accepted", shown)
            if kind == "comment" and closed_at is not None:
                raise Refusal("closed", shown)
            original = self._original(conn, submission_id, payload)
            number = conn.execute("SELECT coalesce(max(number), 0) + 1 FROM followups WHERE submission_id = ?",
                                  (submission_id,)).fetchone()[0]
            now = self._now()
            followup_id = conn.execute(
                "INSERT INTO followups (submission_id, number, kind, comment, original, channel, state, "
                "next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id",
                (submission_id, number, kind, self.store.vault.seal(comment or None),
                 self.store.vault.seal(original), channel, now, now)).fetchone()[0]
        log.info("%s follow-up %d saved (%s, %s)", shown, number, kind, channel)
        return Added(followup_id, canonical, number, kind)

    def _original(self, conn: Conn, submission_id: int, payload: bytes | None
                  ) -> dict[str, Any] | None:
        """The request's place and answers: from its payload, or kept past the retention purge."""
        opened = self.store.vault.open(payload) if payload is not None else None
        if opened is None:
            kept = conn.execute("SELECT original FROM followup_places WHERE submission_id = ?",
                                (submission_id,)).fetchone()
            return self.store.vault.open(kept[0]) if kept else None
        return {"location": opened.get("location") or {}, "attributes": opened.get("attributes") or {}}

    def listing(self, reference: str) -> list[dict[str, Any]]:
        """A request's follow-ups for staff and tests: states and outcomes, nothing personal."""
        canonical = reference_module.parse(reference)
        rows = self.store.db.conn.execute(
            "SELECT f.number, f.kind, f.channel, f.state, f.route, f.attempts, f.created_at, f.sent_at, "
            "f.council_update_id, f.last_error FROM followups AS f JOIN submissions AS s ON s.id = f.submission_id "
            "WHERE s.reference = ? ORDER BY f.number", (canonical,)).fetchall()
        keys = ("number", "kind", "channel", "state", "route", "attempts", "created_at", "sent_at",
                "council_update_id", "last_error")
        return [dict(zip(keys, row)) for row in rows]

    def replied_to(self, number_id: int, within: timedelta) -> str | None:
        """The reference named by the last status text sent to a texting number within `within`,
        for a reply such as "still broken" that names none."""
        row = self.store.db.conn.execute(
            "SELECT s.reference FROM sms_texts AS t JOIN submissions AS s ON s.id = t.submission_id "
            "WHERE t.number_id = ? AND t.kind = 'status' AND t.state = 'sent' AND t.sent_at >= ? "
            "ORDER BY t.sent_at DESC, t.id DESC LIMIT 1",
            (number_id, iso(self.store.clock() - within))).fetchone()
        return row[0] if row else None

    # -- the sender's side -------------------------------------------------------------------

    def claim(self, owner: str, limit: int, exclude: Iterable[int] = ()) -> list[Due]:
        """Take the lease on due follow-ups (new ones, and ambiguous ones to look for first),
        but none of `exclude` (those already tried this round)."""
        now = self._now()
        skip = list(exclude)
        with db_module.write(self.store.db) as conn:
            rows = conn.execute(f"""
                UPDATE followups SET lease_owner = ?, lease_expires_at = ?
                WHERE id IN (SELECT id FROM followups WHERE state IN ('queued', 'sending')
                             AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                             {f"AND id NOT IN ({', '.join('?' * len(skip))})" if skip else ""}
                             ORDER BY next_attempt_at, id LIMIT ?)
                RETURNING id""", (owner, iso(self.store.clock() + LEASE), now, now, *skip, limit)).fetchall()
            ids = [row[0] for row in rows]
            found = conn.execute(f"""
                SELECT f.id, f.submission_id, s.reference, f.number, f.kind, f.comment, f.original, f.state,
                       f.route, f.attempts, f.created_at, f.first_sent_at, s.service_code, s.backoffice,
                       s.device_id, s.service_request_id
                FROM followups AS f JOIN submissions AS s ON s.id = f.submission_id
                WHERE f.id IN ({", ".join("?" * len(ids))}) ORDER BY f.id""", ids).fetchall() if ids else []
        vault = self.store.vault
        due = []
        for r in found:
            try:
                comment, original = vault.open(r[5]) or "", vault.open(r[6]) or {}
            except UNOPENABLE_ERRORS:  # quarantined, as a submission would be: the rest still go
                self._hold_unopenable(r[0], r[2], r[3], owner, sent=r[7] == "sending" or r[11] is not None)
                continue
            due.append(Due(id=r[0], submission_id=r[1], reference=r[2], number=r[3], kind=r[4], comment=comment,
                           original=original, state=r[7], route=r[8], attempts=r[9], created_at=parse_iso(r[10]),
                           first_sent_at=parse_iso(r[11]) if r[11] else None, service_code=r[12], backoffice=r[13],
                           device_id=r[14], service_request_id=str(r[15])))
        return due

    def _hold_unopenable(self, followup_id: int, reference: str, number: int, owner: str, *, sent: bool) -> None:
        """A follow-up whose sealed words cannot be opened is held for staff, never sent; by
        reference only in the log."""
        reason = UNOPENABLE + ("; it may have reached the council" if sent else "")
        with db_module.write(self.store.db) as conn:
            conn.execute("UPDATE followups SET state = 'needs_attention', last_error = ?, lease_owner = NULL, "
                         "lease_expires_at = NULL WHERE id = ? AND lease_owner = ?", (reason, followup_id, owner))
        log.warning("%s: follow-up %d %s; held for staff", reference_module.display(reference), number, reason)

    def _finish(self, conn: Conn, item: Due, owner: str, changes: dict[str, Any]) -> None:
        values = {**changes, "lease_owner": None, "lease_expires_at": None}
        updated = conn.execute(f"UPDATE followups SET {', '.join(f'{k} = ?' for k in values)} "
                               "WHERE id = ? AND lease_owner = ?", (*values.values(), item.id, owner)).rowcount
        if not updated:
            raise db_module.StoreError(f"{item.label}: lease lost")

    def mark_sending(self, item: Due, owner: str, route: str) -> None:
        """Write-ahead: recorded before the POST leaves."""
        now = self._now()
        with db_module.write(self.store.db) as conn:
            if not conn.execute("UPDATE followups SET state = 'sending', route = ?, attempts = attempts + 1, "
                                "first_sent_at = coalesce(first_sent_at, ?) WHERE id = ? AND lease_owner = ?",
                                (route, now, item.id, owner)).rowcount:
                raise db_module.StoreError(f"{item.label}: lease lost")

    def mark_sent(self, item: Due, owner: str, council_id: str | None, route: str) -> None:
        """The council has it: its id kept, the comment and place purged, the history told."""
        now = self._now()
        with db_module.write(self.store.db) as conn:
            self._finish(conn, item, owner, {"state": "sent", "route": route, "sent_at": now,
                                             "council_update_id": council_id, "comment": None, "original": None,
                                             "purged_at": now, "last_error": None})
            self.store._history(conn, item.submission_id, HISTORY[(item.kind, "sent")], "sent to the council", "local")

    def mark_needs_attention(self, item: Due, owner: str, reason: str) -> None:
        with db_module.write(self.store.db) as conn:
            self._finish(conn, item, owner, {"state": "needs_attention", "last_error": reason})
            self.store._history(conn, item.submission_id, HISTORY[(item.kind, "needs_attention")],
                                "could not be sent: staff will check it", "local")

    def retry_later(self, item: Due, owner: str, reason: str, *, maybe_sent: bool,
                    retry_after: float | None = None) -> datetime:
        """A passing failure: `sending` stays (look for it before sending again) if it may have
        arrived, else back to `queued`; due again after a full-jitter backoff."""
        delay = retry_after if retry_after is not None else self.store.backoff_delay(item.attempts)
        due = self.store.clock() + timedelta(seconds=delay)
        with db_module.write(self.store.db) as conn:
            self._finish(conn, item, owner, {"state": "sending" if maybe_sent else "queued", "last_error": reason,
                                             "next_attempt_at": iso(due)})
        return due

    def updates_missing(self, backoffice: str) -> bool:
        return self.store.db.conn.execute("SELECT 1 FROM followup_backoffices WHERE name = ?",
                                          (backoffice,)).fetchone() is not None

    def remember_updates_missing(self, backoffice: str) -> None:
        with db_module.write(self.store.db) as conn:
            conn.execute("INSERT INTO followup_backoffices (name, updates_missing_at) VALUES (?, ?) "
                         "ON CONFLICT (name) DO NOTHING", (backoffice, self._now()))

    def states(self) -> dict[str, int]:
        return dict(self.store.db.conn.execute("SELECT state, count(*) FROM followups GROUP BY state").fetchall())


def purge_hook(vault: Vault, conn: Conn, cutoff: str, now: str, *, before: bool) -> dict[str, int]:
    """Called by `Store.purge` inside its transaction, `before` it purges payloads and after.

    Before: the place and answers of each accepted request still open whose payload the
    retention purge is about to take are kept (sealed), so that "not fixed" can still make a new
    request. After: kept places of closed requests past retention go, and so do the comments and
    copies of places of follow-ups that are settled (sent, or held for staff) and older than the
    retention period, or whose request has been purged and that are not waiting to be sent."""
    if before:
        rows = conn.execute(
            "SELECT id, payload FROM submissions WHERE state = 'accepted' AND closed_at IS NULL "
            "AND created_at < ? AND purged_at IS NULL AND payload IS NOT NULL "
            "AND id NOT IN (SELECT submission_id FROM followup_places)", (cutoff,)).fetchall()
        for submission_id, payload in rows:
            opened = vault.open(payload) or {}
            original = {"location": opened.get("location") or {}, "attributes": opened.get("attributes") or {}}
            conn.execute("INSERT INTO followup_places (submission_id, original) VALUES (?, ?)",
                         (submission_id, vault.seal(original)))
        return {"followup_places_kept": len(rows)}
    places = conn.execute("DELETE FROM followup_places WHERE submission_id IN (SELECT id FROM submissions "
                          "WHERE closed_at IS NOT NULL AND closed_at < ?)", (cutoff,)).rowcount
    comments = conn.execute(
        "UPDATE followups SET comment = NULL, original = NULL, purged_at = ? WHERE purged_at IS NULL AND ("
        "(state IN ('sent', 'needs_attention') AND created_at < ?) OR (state NOT IN ('queued', 'sending') "
        "AND submission_id IN (SELECT id FROM submissions WHERE purged_at IS NOT NULL)))",
        (now, cutoff)).rowcount
    return {"followup_places": places, "followups": comments}
