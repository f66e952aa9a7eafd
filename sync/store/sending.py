"""The worker's side of the outbox: what it records around each send, under its lease.

The worker writes `sending` *before* a request leaves (so a crash mid-send is known to be
ambiguous and is reconciled, never blindly repeated), then the outcome: accepted, awaiting an id,
needs attention, or a retry after a full-jitter backoff. Nothing is ever dropped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sync.store import db as db_module
from sync.store.base import StoreBase
from sync.store.db import Conn
from sync.store.states import LONGEST_WAIT, TransitionError
from sync.store.times import iso, parse_iso


class Sending(StoreBase):
    def mark_sending(self, submission_ids: int | Iterable[int], owner: str) -> None:
        """Write-ahead: recorded just before the request leaves, so a crash mid-send is known to be
        ambiguous. The worker marks each submission as its own POST goes (sharing commits with
        other sends in flight), so a crash leaves at most `sync.concurrency` ambiguous per back office."""
        ids = [submission_ids] if isinstance(submission_ids, int) else list(submission_ids)
        now = self._now()
        with db_module.write(self.db) as conn:
            for submission_id in ids:
                self._move(conn, submission_id, owner, "sending", {})
                conn.execute("UPDATE submissions SET attempts = attempts + 1, "
                             "first_sent_at = coalesce(first_sent_at, ?) WHERE id = ?", (now, submission_id))

    def mark_accepted(self, submission_id: int, owner: str, service_request_id: str, notice: str | None = None) -> None:
        """The council has it: its id is recorded and the contact details are purged at once."""
        now = self._now()
        with db_module.write(self.db) as conn:
            self._move(conn, submission_id, owner, "accepted", {
                "service_request_id": str(service_request_id), "accepted_at": now, "council_status": "open",
                "lease_owner": None, "lease_expires_at": None, "last_error": None,
                "contact": None, "contact_purged_at": now,
            }, history=("accepted", notice))

    def mark_awaiting_id(self, submission_id: int, owner: str, token: str, poll_after: float | None = None) -> None:
        """The council took the request and will give its id later, against this token."""
        due = iso(self.clock() + timedelta(seconds=self.backoff_base if poll_after is None else poll_after))
        with db_module.write(self.db) as conn:
            self._move(conn, submission_id, owner, "awaiting_id", {
                "token": token, "lease_owner": None, "lease_expires_at": None, "next_attempt_at": due,
                "last_error": None,
            }, history=("awaiting_id", None))

    def mark_needs_attention(self, submission_id: int, owner: str | None, reason: str, *,
                             maybe_sent: bool = False) -> None:
        """A problem a person must look at: the council refused it, or (`maybe_sent`) it may be at
        the council already and only staff can find out (`assist outbox resolve`)."""
        with db_module.write(self.db) as conn:
            self._move(conn, submission_id, owner, "needs_attention", {
                "last_error": reason, "lease_owner": None, "lease_expires_at": None, "maybe_sent": int(maybe_sent),
                "server_errors": 0, "server_errors_since": None, "unsearchable_seconds": 0, "unsearchable_at": None,
            }, history=("needs_attention", reason))

    def retry_later(self, submission_id: int, owner: str, error: str, *, maybe_sent: bool,
                    retry_after: float | None = None, at_least: float = 0,
                    server_error: bool | None = None) -> datetime:
        """A passing failure: try again after a full-jitter backoff (or the server's Retry-After).

        `maybe_sent` keeps the submission `sending` (ambiguous: reconcile before resending);
        otherwise it goes back to `queued`. `at_least` lets a lost answer settle at the council
        before it is looked for. `server_error` counts a 5xx to its own POST (True), ends a run
        of them (False) or leaves the count (None). Returns when it is next due. Nothing is
        ever dropped.
        """
        with db_module.write(self.db) as conn:
            row = conn.execute("SELECT state, attempts FROM submissions WHERE id = ?", (submission_id,)).fetchone()
            if row is None:
                raise TransitionError(f"no submission {submission_id}")
            state, attempts = row
            delay = max(at_least, retry_after if retry_after is not None else self.backoff_delay(attempts))
            due = self.clock() + timedelta(seconds=min(delay, LONGEST_WAIT))
            to = state if state == "awaiting_id" else ("sending" if maybe_sent else "queued")
            self._move(conn, submission_id, owner, to, {
                "last_error": error, "next_attempt_at": iso(due), "lease_owner": None, "lease_expires_at": None})
            if server_error is not None:
                self._count_server_error(conn, submission_id, server_error)
        return due

    def _count_server_error(self, conn: Conn, submission_id: int, server_error: bool) -> None:
        """One more 5xx in a row to this submission's own POST, or the end of such a run."""
        if server_error:
            conn.execute("UPDATE submissions SET server_errors = server_errors + 1, "
                         "server_errors_since = coalesce(server_errors_since, ?) WHERE id = ?",
                         (self._now(), submission_id))
        else:
            conn.execute("UPDATE submissions SET server_errors = 0, server_errors_since = NULL WHERE id = ?",
                         (submission_id,))

    def server_errors(self, submission_id: int) -> tuple[int, datetime | None]:
        """How many 5xx answers in a row this submission's own POST has had, and since when."""
        count, since = self.db.conn.execute("SELECT server_errors, server_errors_since FROM submissions WHERE id = ?",
                                            (submission_id,)).fetchone()
        return int(count), parse_iso(since) if since else None

    def accepted_since(self, backoffice: str, since: datetime) -> bool:
        """Whether the back office has accepted any submission since `since` (it is up, then)."""
        return self.db.conn.execute("SELECT 1 FROM submissions WHERE backoffice = ? AND accepted_at > ? LIMIT 1",
                                    (backoffice, iso(since))).fetchone() is not None

    def unsearchable(self, submission_id: int, *, answered: bool) -> float:
        """Run the give-up clock of an ambiguous submission that could not be looked for: the time
        since the last look counts only if the back office answered both times (its search was
        refused or inconclusive), never across a spell of being unreachable. Returns the total."""
        now = self.clock()
        with db_module.write(self.db) as conn:
            seconds, since = conn.execute("SELECT unsearchable_seconds, unsearchable_at FROM submissions "
                                          "WHERE id = ?", (submission_id,)).fetchone()
            if answered and since:
                seconds += max(0.0, (now - parse_iso(since)).total_seconds())
            conn.execute("UPDATE submissions SET unsearchable_seconds = ?, unsearchable_at = ? WHERE id = ?",
                         (seconds, iso(now) if answered else None, submission_id))
        return float(seconds)

    def release(self, submission_id: int, owner: str) -> None:
        """Give back a claimed submission that was not sent (its back office was paused meanwhile):
        still `queued`, due at once, nothing counted against it."""
        with db_module.write(self.db) as conn:
            conn.execute("UPDATE submissions SET lease_owner = NULL, lease_expires_at = NULL, next_attempt_at = ? "
                         "WHERE id = ? AND lease_owner = ? AND state = 'queued'", (self._now(), submission_id, owner))

    def log_event(self, submission_id: int, kind: str, detail: str | None = None) -> None:
        """What the worker did with a submission, for `assist outbox show` (never personal data)."""
        if self.db.conn.in_transaction:  # one statement: whole or not at all, no savepoint needed
            self._event(self.db.conn, submission_id, kind, detail)
            return
        with db_module.write(self.db) as conn:
            self._event(conn, submission_id, kind, detail)

    def proof_candidate(self, backoffice: str, service_code: str | None,
                        since: datetime) -> tuple[str, str, str] | None:
        """A request this store sent and the council accepted since `since` (reference, service
        code, the council's id), newest first: a search that cannot find it proves nothing."""
        scope, params = ("AND service_code = ?", (service_code,)) if service_code else ("", ())
        row = self.db.conn.execute(
            f"SELECT reference, service_code, service_request_id FROM submissions WHERE backoffice = ? "
            f"AND state = 'accepted' AND first_sent_at IS NOT NULL AND accepted_at > ? {scope} "
            f"ORDER BY accepted_at DESC LIMIT 1", (backoffice, iso(since), *params)).fetchone()
        return (row[0], row[1], row[2]) if row else None

    def expedite(self, backoffice: str | None = None) -> int:
        """Make queued submissions due now (for "sync now", or when a back office is back)."""
        now = self._now()
        scope, params = ("AND backoffice = ?", (backoffice,)) if backoffice else ("", ())
        with db_module.write(self.db) as conn:
            return conn.execute(f"UPDATE submissions SET next_attempt_at = ? WHERE state = 'queued' "
                                f"AND next_attempt_at > ? {scope}", (now, now, *params)).rowcount

    def backoff_delay(self, attempts: int) -> float:
        """Full jitter: a random wait between 0 and min(cap, base x 2^attempts), in seconds."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** min(attempts, 32)))
        return self.rng.uniform(0, ceiling)
