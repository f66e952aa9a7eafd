"""The local store: the outbox of residents' submissions and everything the channels and the
sync worker tell one another.

Every submission is saved here first, in one transaction with its first status row, and gets
its reference at that moment; only then is the resident told it is saved. The outbox is an
explicit state machine (see TRANSITIONS). A worker claims due submissions atomically with a lease,
writes `sending` *before* any request leaves (so an interrupted send is known to be ambiguous and
is reconciled, never blindly repeated), and records the outcome. Personal data is sealed with the
store key and purged: contact details once the council has the request, everything personal after
the retention period (once the submission is finished with). Channels never call out: they read
back-office reachability here and leave requests such as "sync now" here for the worker.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping

import sqlite_utils

from sync import catalogue as catalogue_module
from sync import reference as reference_module
from sync.config import DEFAULT_BACKOFFICE, Settings
from sync.crypto import KeyProblem, Vault
from sync.flow import Draft
from sync.store import db as db_module
from sync.store import keycheck
from sync.store import notes as notes_module

log = logging.getLogger(__name__)

STATES = ("queued", "sending", "awaiting_id", "accepted", "needs_attention", "cancelled", "exported")
CHANNELS = ("kiosk", "sms", "paper")
#: What a resident helped by a volunteer agreed to: the volunteer helps and the resident types,
#: or the volunteer may type for them.
ASSIST_CONSENTS = ("resident_types", "volunteer_types")
#: Which state may follow which. `sending` -> `sending` is a retry of an ambiguous send, and
#: `awaiting_id` -> `awaiting_id` a token poll that found no id yet.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "queued": ("sending", "needs_attention", "cancelled", "exported"),
    "sending": ("sending", "queued", "awaiting_id", "accepted", "needs_attention"),
    "awaiting_id": ("awaiting_id", "accepted", "needs_attention"),
    "accepted": (),
    "needs_attention": ("queued", "cancelled", "accepted"),  # accepted: staff adopt the council's id
    "cancelled": (),
    "exported": (),
}
#: States a worker may claim: new, ambiguous (reconcile first), and waiting for a token's id.
CLAIMABLE = ("queued", "sending", "awaiting_id")
#: States whose personal data the retention period may purge: the council has it, or it is gone.
FINISHED = ("accepted", "cancelled", "exported")
#: What the volunteer's name on a request becomes at the retention purge: that a volunteer
#: helped is kept (it is not personal), who it was is not.
PURGED_VOLUNTEER = "(purged)"
LONGEST_WAIT = 7 * 24 * 3600  # seconds: whatever a server asks, we try again within a week
#: Why a row whose sealed values do not open is set aside (and what staff and status show).
UNOPENABLE = "cannot be opened with this store's key"
#: What opening a damaged or foreign sealed value raises (KeyProblem from Vault.open; the others
#: for a value that decrypts but is not JSON, or is not bytes at all).
UNOPENABLE_ERRORS = (KeyProblem, ValueError, TypeError)


class TransitionError(Exception):
    """A state change the outbox does not allow, or one made without holding the lease."""


class MaybeSent(TransitionError):
    """Staff tried to send again a submission that may already be at the council: it must be
    resolved (its council id adopted, or confirmed absent) instead, or the council gets it twice."""


def _sql_list(states: tuple[str, ...]) -> str:
    """A constant tuple of states as an SQL list (never from input)."""
    return ", ".join(f"'{state}'" for state in states)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """One fixed format for every stored time, so that SQL can compare them as text."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class Saved:
    id: int
    reference: str
    created: bool  # False when the idempotency key was already here: nothing was added

    @property
    def display_reference(self) -> str:
        return reference_module.display(self.reference)


@dataclass(frozen=True)
class Claimed:
    """A submission a worker holds the lease on, with what it needs to send it."""

    id: int
    reference: str
    state: str
    service_code: str
    backoffice: str
    attempts: int
    token: str | None
    created_at: datetime
    first_sent_at: datetime | None
    device_id: str
    payload: dict[str, Any]
    contact: dict[str, str] | None
    assisted_by: str | None = None  # the volunteer who helped, if one did

    @property
    def ambiguous(self) -> bool:
        """A request may already have reached the council: reconcile before sending again."""
        return self.state == "sending"


@dataclass(frozen=True)
class StatusEntry:
    status: str
    notes: str | None
    at: datetime
    source: str


@dataclass(frozen=True)
class Lookup:
    """What a status look-up may show: no personal data."""

    reference: str
    service_code: str
    state: str
    council_status: str | None
    created_at: datetime
    updated_at: datetime
    language: str
    history: tuple[StatusEntry, ...]


class Store:
    def __init__(self, db: sqlite_utils.Database, vault: Vault, *, device_id: str, retention_days: int = 90,
                 lease_seconds: int = 120, backoff_base_seconds: float = 30, backoff_cap_seconds: float = 3600,
                 clock: Callable[[], datetime] = utcnow, rng: random.Random | None = None,
                 route: Callable[[str], str] = lambda service_code: DEFAULT_BACKOFFICE,
                 overlay_pins: Mapping[str, str] | None = None) -> None:
        self.db = db
        self.vault = vault
        self.device_id = device_id
        self.retention = timedelta(days=retention_days)
        self.lease = timedelta(seconds=lease_seconds)
        self.backoff_base = backoff_base_seconds
        self.backoff_cap = backoff_cap_seconds
        self.clock = clock
        self.rng = rng or random.Random()
        self.route = route  # which back office a service's submissions go to
        self.overlay_pins = dict(overlay_pins or {})  # `[catalogue.overlay]`: council code -> bundled code
        self._catalogue: tuple[tuple | None, catalogue_module.Catalogue] | None = None

    @classmethod
    def open(cls, settings: Settings, **overrides: Any) -> "Store":
        """Open (creating, mode 0600, and migrating) the store with its own key, or raise
        KeyProblem (sync/keycheck.py decides which key that is)."""
        keycheck.create_private(settings.store_path)
        db = db_module.connect(settings.store_path)
        try:
            vault = keycheck.open_vault(db, settings)
        except BaseException:
            db.conn.close()
            raise
        options = dict(device_id=settings.device_id, retention_days=settings.store.retention_days,
                       lease_seconds=settings.sync.lease_seconds,
                       backoff_base_seconds=settings.sync.backoff_base_seconds,
                       backoff_cap_seconds=settings.sync.backoff_cap_seconds, route=settings.route,
                       overlay_pins=settings.overlay_pins())
        options.update(overrides)
        return cls(db, vault, **options)

    def close(self) -> None:
        self.db.conn.close()

    def _now(self) -> str:
        return iso(self.clock())

    # -----------------------------------------------------------------------------------------
    # Saving

    def enqueue(self, draft: Draft, *, reference: str | None = None, created_at: datetime | None = None,
                device_id: str | None = None, history_note: str = "") -> Saved:
        """Save a submission durably and give it a reference, in one transaction.

        A draft whose idempotency key is already here is not added again: the existing one is
        returned with `created=False`. `reference`, `created_at` and `device_id` are given only
        when a submission made elsewhere is imported here.
        """
        if draft.channel not in CHANNELS:
            raise ValueError(f"unknown channel {draft.channel!r}")
        if (draft.assisted_by is None) != (draft.assist_consent is None) or \
                draft.assist_consent not in (None, *ASSIST_CONSENTS):
            raise ValueError("a submission made with help needs the volunteer's name and one of "
                             f"{', '.join(ASSIST_CONSENTS)} (got {draft.assist_consent!r})")
        key = draft.idempotency_key or str(uuid.uuid4())
        now = self._now()
        row = {
            "idempotency_key": key, "channel": draft.channel, "device_id": device_id or self.device_id,
            "language": draft.language, "catalogue_version": draft.catalogue_version,
            "service_code": draft.service_code, "backoffice": self.route(draft.service_code), "state": "queued",
            "payload": self.vault.seal({"location": draft.location, "attributes": draft.attributes,
                                        "description": draft.description}),
            "contact": self.vault.seal(draft.contact or None),
            "notify_phone": self.vault.seal(draft.notify_phone),
            "created_at": iso(created_at) if created_at else now, "updated_at": now, "next_attempt_at": now,
        }
        if draft.assisted_by is not None:  # unassisted: the columns' NULLs say so
            row |= {"assisted_by": draft.assisted_by, "assist_consent": draft.assist_consent}
        with db_module.write(self.db) as conn:
            for _ in range(8):
                row["reference"] = reference or reference_module.new_reference()
                try:
                    inserted = conn.execute(
                        f"INSERT INTO submissions ({', '.join(row)}) VALUES ({', '.join('?' * len(row))}) "
                        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id", tuple(row.values())).fetchone()
                    break
                except sqlite3.IntegrityError as error:
                    if reference or "reference" not in str(error):
                        raise
            else:  # pragma: no cover - eight collisions in 2 x 10**13 means a broken random source
                raise RuntimeError("could not find an unused reference")
            if inserted is None:
                existing = conn.execute("SELECT id, reference FROM submissions WHERE idempotency_key = ?",
                                        (key,)).fetchone()
                return Saved(existing[0], existing[1], created=False)
            submission_id = inserted[0]
            self._history(conn, submission_id, "queued", history_note or None, "local")
        log.info("saved %s (%s, %s)", reference_module.display(row["reference"]), draft.service_code, draft.channel)
        return Saved(submission_id, row["reference"], created=True)

    def _history(self, conn: sqlite3.Connection, submission_id: int, status: str, notes: str | None,
                 source: str, at: str | None = None) -> None:
        conn.execute("INSERT INTO status_history (submission_id, status, notes, at, source) VALUES (?, ?, ?, ?, ?)",
                     (submission_id, status, notes, at or self._now(), source))

    # -----------------------------------------------------------------------------------------
    # The worker's side

    def claim(self, owner: str, limit: int = 10, *, backoffices: Iterable[str] | None = None,
              due_by: datetime | None = None, include_paused: bool = False) -> list[Claimed]:
        """Take the lease on up to `limit` due submissions, atomically: no two owners get the same one.

        Due means claimable, with its next attempt time passed (or passed by `due_by`), not
        leased (or the lease has lapsed, as it does when a worker crashes), and not bound for a
        paused back office (unless probing it with `include_paused`).

        A submission whose sealed details cannot be opened is not returned: it is quarantined
        (`needs_attention`, see `_quarantine`) and the claim goes on, so one damaged row never
        stops the rest, nor comes back to stop the next run.
        """
        while True:
            rows = self._lease(owner, limit, backoffices=backoffices, due_by=due_by, include_paused=include_paused)
            claimed, unreadable = [], []
            for row in rows:
                try:
                    payload, contact = self.vault.open(row[10]) or {}, self.vault.open(row[11])
                except UNOPENABLE_ERRORS:
                    unreadable.append(row)
                    continue
                claimed.append(Claimed(
                    id=row[0], reference=row[1], state=row[2], service_code=row[3], backoffice=row[4],
                    attempts=row[5], token=row[6], created_at=parse_iso(row[7]),
                    first_sent_at=parse_iso(row[8]) if row[8] else None, device_id=row[9], payload=payload,
                    contact=contact, assisted_by=row[12]))
            if unreadable:
                self._quarantine(unreadable, owner)
            if claimed or not unreadable:  # all of this batch quarantined: take the next one
                return sorted(claimed, key=lambda item: item.id)

    def _lease(self, owner: str, limit: int, *, backoffices: Iterable[str] | None, due_by: datetime | None,
               include_paused: bool) -> list[tuple]:
        """The leasing half of `claim`: the rows just leased to `owner`, still sealed."""
        now = self._now()
        until = iso(self.clock() + self.lease)
        due = iso(due_by) if due_by else now
        scope, params = "", []
        if not include_paused:
            scope = "AND backoffice NOT IN (SELECT name FROM backoffice_state WHERE paused = 1)"
        if backoffices is not None:
            names = list(backoffices)
            scope += f" AND backoffice IN ({', '.join('?' * len(names))})"
            params = names
        with db_module.write(self.db) as conn:
            return conn.execute(f"""
                UPDATE submissions SET lease_owner = ?, lease_expires_at = ?
                WHERE id IN (
                    SELECT id FROM submissions
                    WHERE state IN ({_sql_list(CLAIMABLE)}) AND next_attempt_at <= ?
                      AND (lease_expires_at IS NULL OR lease_expires_at <= ?)
                      {scope}
                    ORDER BY next_attempt_at, id LIMIT ?)
                RETURNING id, reference, state, service_code, backoffice, attempts, token, created_at,
                          first_sent_at, device_id, payload, contact, assisted_by""",
                (owner, until, due, now, *params, limit)).fetchall()

    def _quarantine(self, rows: list[tuple], owner: str) -> None:
        """Submissions whose sealed details do not open (a damaged byte, or sealed under another
        key) go to staff, maybe sent if they had been sent, each with one line by reference. Their
        sealed columns are left as they are, for whoever can recover the key or restore a backup."""
        with db_module.write(self.db) as conn:
            for row in rows:
                self.mark_needs_attention(row[0], owner, UNOPENABLE, maybe_sent=self._was_sent(row[2], row[8]))
                self._event(conn, row[0], "unopenable", UNOPENABLE)
        for row in rows:
            log.error("%s: %s; it needs attention%s", reference_module.display(row[1]), UNOPENABLE,
                      " (it may be at the council already)" if self._was_sent(row[2], row[8]) else "")

    @staticmethod
    def _was_sent(state: str, first_sent_at: str | None) -> bool:
        return state in ("sending", "awaiting_id") or first_sent_at is not None

    def unopenable(self) -> int:
        """How many submissions wait for staff because they cannot be opened (`assist sync status`)."""
        return self.db.conn.execute("SELECT count(*) FROM submissions WHERE state = 'needs_attention' AND "
                                    "last_error = ?", (UNOPENABLE,)).fetchone()[0]

    def _move(self, conn: sqlite3.Connection, submission_id: int, owner: str | None, to: str,
              changes: dict[str, Any], history: tuple[str, str | None] | None = None) -> None:
        """Change state if the outbox allows it and (for a worker) the lease is still held."""
        row = conn.execute("SELECT state, lease_owner, lease_expires_at FROM submissions WHERE id = ?",
                           (submission_id,)).fetchone()
        if row is None:
            raise TransitionError(f"no submission {submission_id}")
        state, lease_owner, lease_expires_at = row
        if to not in TRANSITIONS[state]:
            raise TransitionError(f"submission {submission_id}: {state} -> {to} is not allowed")
        now = self._now()
        if owner is not None and (lease_owner != owner or lease_expires_at is None or lease_expires_at <= now):
            raise TransitionError(f"submission {submission_id}: lease not held by {owner}")
        values = {"state": to, "updated_at": now, **changes}
        conn.execute(f"UPDATE submissions SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                     (*values.values(), submission_id))
        if history:
            self._history(conn, submission_id, history[0], history[1], "local")

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
            delay = min(delay, LONGEST_WAIT)
            due = self.clock() + timedelta(seconds=delay)
            to = state if state == "awaiting_id" else ("sending" if maybe_sent else "queued")
            self._move(conn, submission_id, owner, to, {
                "last_error": error, "next_attempt_at": iso(due), "lease_owner": None, "lease_expires_at": None})
            if server_error:
                conn.execute("UPDATE submissions SET server_errors = server_errors + 1, "
                             "server_errors_since = coalesce(server_errors_since, ?) WHERE id = ?",
                             (self._now(), submission_id))
            elif server_error is not None:
                conn.execute("UPDATE submissions SET server_errors = 0, server_errors_since = NULL WHERE id = ?",
                             (submission_id,))
        return due

    def server_errors(self, submission_id: int) -> tuple[int, datetime | None]:
        """How many 5xx answers in a row this submission's own POST has had, and since when."""
        count, since = self.db.conn.execute("SELECT server_errors, server_errors_since FROM submissions WHERE id = ?",
                                            (submission_id,)).fetchone()
        return count, parse_iso(since) if since else None

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
        return seconds

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

    def proof_candidate(self, backoffice: str, service_code: str | None, since: datetime) -> tuple[str, str, str] | None:
        """A request this store sent and the council accepted since `since` (reference, service
        code, the council's id), newest first: a search that cannot find it proves nothing."""
        scope, params = ("AND service_code = ?", (service_code,)) if service_code else ("", ())
        row = self.db.conn.execute(
            f"SELECT reference, service_code, service_request_id FROM submissions WHERE backoffice = ? "
            f"AND state = 'accepted' AND first_sent_at IS NOT NULL AND accepted_at > ? {scope} "
            f"ORDER BY accepted_at DESC LIMIT 1", (backoffice, iso(since), *params)).fetchone()
        return tuple(row) if row else None

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

    def cancel(self, reference: str, reason: str) -> None:
        """Staff cancel a submission that has not gone, with a reason kept in its history.

        Staff act through sync.store.volunteers (cancel, resend, correct), which checks who may and
        audits it in the same transaction; these methods are the changes themselves."""
        reason = reason.strip()
        if not reason:
            raise ValueError("a cancellation needs a reason, kept in the request's history")
        with db_module.write(self.db) as conn:
            submission_id = self._id_for(conn, reference)
            leased = conn.execute("SELECT 1 FROM submissions WHERE id = ? AND lease_owner IS NOT NULL "
                                  "AND lease_expires_at > ?", (submission_id, self._now())).fetchone()
            if leased:  # a worker or an exporter holds it: it may be on its way, here or by hand
                raise TransitionError(f"{reference_module.display(reference_module.parse(reference))} is being sent "
                                      "or exported just now; try again in a few minutes")
            self._move(conn, submission_id, None, "cancelled", {"cancel_reason": reason, "lease_owner": None,
                                                                 "lease_expires_at": None},
                       history=("cancelled", reason))

    def requeue(self, reference: str, note: str) -> None:
        """Staff send a `needs_attention` submission again, once the council's reason is dealt with."""
        self.correct(reference, note=note)

    def correct(self, reference: str, *, location: dict[str, Any] | None = None,
                attributes: dict[str, Any] | None = None, description: str | None = None, note: str) -> None:
        """Correct a `needs_attention` submission and queue it again, in one transaction.

        Only what is given changes: `location` and `description` replace the old ones, and
        `attributes` are merged into the old ones (a None value removes that attribute). The
        payload is sealed again and `note` goes into the history. Any other state is refused
        with TransitionError: a submission that may be at the council must never be sent twice.
        """
        with db_module.write(self.db) as conn:
            submission_id = self._id_for(conn, reference)
            state, sealed, maybe_sent = conn.execute("SELECT state, payload, maybe_sent FROM submissions WHERE id = ?",
                                                     (submission_id,)).fetchone()
            shown = reference_module.display(reference_module.parse(reference))
            if state != "needs_attention":
                raise TransitionError(f"{shown} is {state}: "
                                      "only a request that needs attention can be corrected or sent again")
            if maybe_sent:
                raise MaybeSent(f"{shown} may already be at the council (an answer was lost or unreadable), so "
                                "sending it again could make a duplicate. Look for it there, then run "
                                f"`assist outbox resolve {shown} --council-id ID` if it is there, or "
                                f"`assist outbox resolve {shown} --not-at-council` if it is not")
            changes: dict[str, Any] = {"next_attempt_at": self._now(), "last_error": None}
            if location is not None or attributes is not None or description is not None:
                payload = self.vault.open(sealed)
                if location is not None:
                    payload["location"] = dict(location)
                if attributes is not None:
                    merged = {**(payload.get("attributes") or {}), **attributes}
                    payload["attributes"] = {code: value for code, value in merged.items() if value is not None}
                if description is not None:
                    payload["description"] = description
                changes["payload"] = self.vault.seal(payload)
            self._move(conn, submission_id, None, "queued", changes, history=("queued", note or None))

    def _id_for(self, conn: sqlite3.Connection, reference: str) -> int:
        canonical = reference_module.parse(reference)
        row = conn.execute("SELECT id FROM submissions WHERE reference = ?", (canonical,)).fetchone() if canonical else None
        if row is None:
            raise TransitionError(f"no submission with reference {reference}")
        return row[0]

    def _attention(self, conn: sqlite3.Connection, reference: str) -> int:
        """The id of a submission staff may resolve: one in `needs_attention`, else TransitionError."""
        submission_id = self._id_for(conn, reference)
        state = conn.execute("SELECT state FROM submissions WHERE id = ?", (submission_id,)).fetchone()[0]
        if state != "needs_attention":
            raise TransitionError(f"{reference_module.display(reference_module.parse(reference))} is {state}: "
                                  "only a request that needs attention can be resolved")
        return submission_id

    def _event(self, conn: sqlite3.Connection, submission_id: int, kind: str, detail: str | None) -> None:
        """One row of what happened to a submission, for `assist outbox show` (never personal data)."""
        conn.execute("INSERT INTO outbox_events (submission_id, at, kind, detail) VALUES (?, ?, ?, ?)",
                     (submission_id, self._now(), kind, detail))

    def resolve_at_council(self, reference: str, council_id: str, *, note: str,
                           council_status: str | None = None) -> None:
        """Staff found a `needs_attention` submission at the council: adopt the council's id.

        The caller has checked `council_id` at the council (sync.open311.resolve); this is the change:
        accepted, maybe-sent cleared, the contact details purged as on any acceptance, and the
        adoption kept in the history and the outbox events."""
        council_id = str(council_id).strip()
        if not council_id:
            raise ValueError("the council's id is empty")
        now = self._now()
        with db_module.write(self.db) as conn:
            submission_id = self._attention(conn, reference)
            self._move(conn, submission_id, None, "accepted", {
                "service_request_id": council_id, "accepted_at": now, "council_status": council_status or "open",
                "maybe_sent": 0, "last_error": None, "lease_owner": None, "lease_expires_at": None,
                "contact": None, "contact_purged_at": now,
            }, history=("accepted", note))
            self._event(conn, submission_id, "resolved", f"at the council as {council_id}")

    def resolve_not_at_council(self, reference: str, *, note: str) -> None:
        """Staff are sure a `needs_attention` submission is not at the council (maybe sent or
        not): queue it again as it is, with maybe-sent cleared."""
        with db_module.write(self.db) as conn:
            submission_id = self._attention(conn, reference)
            self._move(conn, submission_id, None, "queued", {"maybe_sent": 0, "next_attempt_at": self._now(),
                                                              "last_error": None}, history=("queued", note))
            self._event(conn, submission_id, "resolved", "not at the council: queued again")

    def request_resolution(self, reference: str, council_id: str, requested_by: str) -> None:
        """Leave a staff member's "it is at the council as `council_id`" for the sync worker to
        check there (the kiosk never calls out). It replaces one still pending for the same
        submission."""
        council_id = str(council_id).strip()
        if not council_id:
            raise ValueError("the council's id is empty")
        with db_module.write(self.db) as conn:
            submission_id = self._attention(conn, reference)
            conn.execute("DELETE FROM resolutions WHERE submission_id = ? AND outcome IS NULL", (submission_id,))
            conn.execute("INSERT INTO resolutions (submission_id, council_id, requested_by, requested_at) "
                         "VALUES (?, ?, ?, ?)", (submission_id, council_id, requested_by, self._now()))
            self._event(conn, submission_id, "resolve_asked", f"council id {council_id}, to be checked")

    def pending_resolutions(self) -> list[dict[str, Any]]:
        """Resolutions waiting for the worker, oldest first, with what checking them needs."""
        keys = ("id", "council_id", "requested_by", "reference", "state", "service_code", "backoffice")
        return [dict(zip(keys, row)) for row in self.db.conn.execute(
            "SELECT r.id, r.council_id, r.requested_by, s.reference, s.state, s.service_code, s.backoffice "
            "FROM resolutions r JOIN submissions s ON s.id = r.submission_id WHERE r.outcome IS NULL ORDER BY r.id")]

    def decide_resolution(self, resolution_id: int, outcome: str, reason: str | None = None) -> None:
        """Record what the check of a pending resolution found (a refusal's reason is shown to
        staff on the dashboard). An accepted one is adopted by the caller in the same transaction."""
        if outcome not in ("accepted", "refused"):
            raise ValueError(f"unknown resolution outcome {outcome!r}")
        with db_module.write(self.db) as conn:
            row = conn.execute("UPDATE resolutions SET outcome = ?, reason = ?, decided_at = ? WHERE id = ? "
                               "AND outcome IS NULL RETURNING submission_id, council_id",
                               (outcome, reason, self._now(), resolution_id)).fetchone()
            if row is not None and outcome == "refused":
                self._event(conn, row[0], "resolve_refused", f"council id {row[1]}: {reason}")

    def last_resolution(self, reference: str) -> dict[str, Any] | None:
        """The latest resolution asked for a submission: council_id, requested_by, requested_at,
        outcome (None while pending) and reason."""
        keys = ("council_id", "requested_by", "requested_at", "outcome", "reason")
        row = self.db.conn.execute(
            f"SELECT {', '.join('r.' + key for key in keys)} FROM resolutions r JOIN submissions s "
            "ON s.id = r.submission_id WHERE s.reference = ? ORDER BY r.id DESC LIMIT 1",
            (reference_module.parse(reference),)).fetchone()
        return dict(zip(keys, row)) if row else None

    # -----------------------------------------------------------------------------------------
    # Carrying submissions away in an export file

    def hold_for_export(self, owner: str) -> list[dict[str, Any]]:
        """Lease every queued submission to an exporter, so no worker sends one while it is
        written out, and return them whole (decrypted) for sealing into the export file.
        Submissions in `sending` are never exported: they may already be at the council."""
        now = self._now()
        until = iso(self.clock() + self.lease)
        with db_module.write(self.db) as conn:
            rows = conn.execute(
                "UPDATE submissions SET lease_owner = ?, lease_expires_at = ? WHERE state = 'queued' "
                "AND (lease_expires_at IS NULL OR lease_expires_at <= ?) RETURNING reference, idempotency_key, "
                "channel, device_id, language, catalogue_version, service_code, created_at, assisted_by, "
                "assist_consent, payload, contact, notify_phone", (owner, until, now)).fetchall()
        keys = ("reference", "idempotency_key", "channel", "device_id", "language", "catalogue_version",
                "service_code", "created_at", "assisted_by", "assist_consent")
        return sorted(({**dict(zip(keys, row[:10])), "payload": self.vault.open(row[10]),
                        "contact": self.vault.open(row[11]), "notify_phone": self.vault.open(row[12])}
                       for row in rows), key=lambda record: record["created_at"])

    def mark_exported(self, references: Iterable[str], owner: str, note: str) -> None:
        """The export file is safely written: these will travel by hand, never from here. Their
        sealed data stays until the retention period, in case the stick is lost on the way."""
        with db_module.write(self.db) as conn:
            for reference in references:
                submission_id = self._id_for(conn, reference)
                self._move(conn, submission_id, owner, "exported", {"lease_owner": None, "lease_expires_at": None},
                           history=("exported", note))

    # -----------------------------------------------------------------------------------------
    # Status from the council, and look-ups for the channels

    def record_status(self, submission_id: int, status: str, notes: str | None, at: datetime | None = None,
                      *, closed: bool = False, external_id: str | None = None) -> bool:
        """Record a council status; returns False when nothing new was learnt (nothing written).

        An update with the council's own id is recorded once, however often it is fetched;
        without one, only a change from the last council status counts.
        """
        with db_module.write(self.db) as conn:
            if external_id is None:
                last = conn.execute("SELECT status, notes_sealed, notes FROM status_history WHERE submission_id = ? "
                                    "AND source = 'council' ORDER BY id DESC LIMIT 1", (submission_id,)).fetchone()
                if last and (last[0], notes_module.opened(self.vault, last[1], last[2])) == (status, notes):
                    return False
            when = iso(at) if at else self._now()
            inserted = conn.execute(
                "INSERT INTO status_history (submission_id, status, notes_sealed, at, source, external_id) "
                "VALUES (?, ?, ?, ?, 'council', ?) ON CONFLICT DO NOTHING",
                (submission_id, status, self.vault.seal(notes), when, external_id)).rowcount
            if not inserted:
                return False
            conn.execute("UPDATE submissions SET council_status = ?, updated_at = ?, closed_at = "
                         "CASE WHEN ? THEN coalesce(closed_at, ?) ELSE NULL END WHERE id = ?",
                         (status, self._now(), closed, when, submission_id))
        return True

    def seal_clear_notes(self) -> int:
        """Seal the council notes an earlier version kept in clear (the sync worker does, as it
        starts); resumable, and readers take either form meanwhile. Returns how many."""
        return notes_module.seal_clear(self)

    def open_requests(self, backoffice: str) -> dict[str, int]:
        """Accepted, not yet closed requests bound for `backoffice`: the council's id -> ours."""
        return dict(self.db.conn.execute(
            "SELECT service_request_id, id FROM submissions WHERE backoffice = ? AND state = 'accepted' "
            "AND closed_at IS NULL", (backoffice,)).fetchall())

    def updates_checked_until(self, backoffice: str) -> datetime | None:
        row = self.db.conn.execute("SELECT updates_until FROM backoffice_state WHERE name = ?", (backoffice,)).fetchone()
        return parse_iso(row[0]) if row and row[0] else None

    def set_updates_checked_until(self, backoffice: str, when: datetime) -> None:
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO backoffice_state (name, updates_until) VALUES (?, ?) ON CONFLICT (name) "
                         "DO UPDATE SET updates_until = excluded.updates_until", (backoffice, iso(when)))

    def lookup(self, reference: str) -> Lookup | None:
        """The status of a submission made here, by its reference as a person typed it.

        History comes in the order it was learnt here: its times come from two clocks (ours and
        the council's), which can disagree by hours after a power cut."""
        canonical = reference_module.parse(reference)
        if canonical is None:
            return None
        row = self.db.conn.execute(
            "SELECT id, reference, service_code, state, council_status, created_at, updated_at, language "
            "FROM submissions WHERE reference = ?", (canonical,)).fetchone()
        if row is None:
            return None
        shown = reference_module.display(row[1])
        history = tuple(StatusEntry(status, notes_module.opened(self.vault, sealed, notes, reference=shown),
                                    parse_iso(at), source) for status, sealed, notes, at, source in
                        self.db.conn.execute("SELECT status, notes_sealed, notes, at, source FROM status_history "
                                             "WHERE submission_id = ? ORDER BY id", (row[0],)))
        return Lookup(reference=row[1], service_code=row[2], state=row[3], council_status=row[4],
                      created_at=parse_iso(row[5]), updated_at=parse_iso(row[6]), language=row[7], history=history)

    def counts(self) -> dict[str, int]:
        found = dict(self.db.conn.execute("SELECT state, count(*) FROM submissions GROUP BY state").fetchall())
        return {state: found.get(state, 0) for state in STATES}

    def oldest_queued_at(self) -> datetime | None:
        row = self.db.conn.execute(f"SELECT min(created_at) FROM submissions WHERE state IN "
                                   f"({_sql_list(CLAIMABLE)})").fetchone()
        return parse_iso(row[0]) if row[0] else None

    #: What staff may see of a submission: references, states, times, the council's id and status.
    _LISTED = ("reference", "state", "service_code", "channel", "created_at", "updated_at", "attempts", "last_error",
               "service_request_id", "council_status", "maybe_sent")

    def listing(self, states: Iterable[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
        """References, states and ages for staff, with the council's id and last status (as of
        `updated_at`): never anything personal. `maybe_sent` is a bool."""
        states = list(states or STATES)
        rows = self.db.conn.execute(
            f"SELECT {', '.join(self._LISTED)} "
            f"FROM submissions WHERE state IN ({', '.join('?' * len(states))}) ORDER BY created_at LIMIT ?",
            (*states, limit)).fetchall()
        return [{**dict(zip(self._LISTED, row)), "maybe_sent": bool(row[-1])} for row in rows]

    def outline(self, reference: str) -> dict[str, Any] | None:
        """One submission for staff (`assist outbox show`): what `listing` shows, plus its back
        office, when it was first sent and accepted, what the worker did with it (outbox events)
        and its status history. Never anything personal: no payload, no contact, and the
        council's own status notes (written to the resident) are left out."""
        canonical = reference_module.parse(reference)
        row = self.db.conn.execute(
            f"SELECT id, {', '.join(self._LISTED)}, backoffice, first_sent_at, accepted_at, closed_at "
            "FROM submissions WHERE reference = ?", (canonical,)).fetchone() if canonical else None
        if row is None:
            return None
        keys = (*self._LISTED, "backoffice", "first_sent_at", "accepted_at", "closed_at")
        found = dict(zip(keys, row[1:]))
        found["maybe_sent"] = bool(found["maybe_sent"])
        found["events"] = [dict(zip(("at", "kind", "detail"), event)) for event in self.db.conn.execute(
            "SELECT at, kind, detail FROM outbox_events WHERE submission_id = ? ORDER BY id", (row[0],))]
        found["history"] = [{"at": at, "status": status, "source": source,
                             "notes": notes if source == "local" else None} for status, notes, at, source in
                            self.db.conn.execute("SELECT status, notes, at, source FROM status_history "
                                                 "WHERE submission_id = ? ORDER BY id", (row[0],))]
        return found

    # -----------------------------------------------------------------------------------------
    # Personal data

    def purge(self) -> dict[str, int]:
        """Purge what may go: contact details of accepted requests (a safety net: acceptance
        already purges them), the texting number once a request is closed, and everything
        personal in finished submissions older than the retention period: what the resident
        told us, the reasons it was refused or cancelled (in the submission, its history and the
        staff audit log), every note in its history, and the volunteer's name (that one helped is
        kept). A store purged by an earlier version, which left those reasons and names, is
        caught up. Then the write-ahead log is cut, so no clear copy is left on disk."""
        now = self._now()
        cutoff = iso(self.clock() - self.retention)
        finished = _sql_list(FINISHED)
        from sync.open311.followups import purge_hook  # residents' follow-ups: their own small addition

        with db_module.write(self.db) as conn:
            followups = purge_hook(self, conn, cutoff, before=True)
            contact = conn.execute("UPDATE submissions SET contact = NULL, contact_purged_at = ? "
                                   "WHERE state = 'accepted' AND contact IS NOT NULL", (now,)).rowcount
            closed = conn.execute("UPDATE submissions SET notify_phone = NULL WHERE closed_at IS NOT NULL "
                                  "AND notify_phone IS NOT NULL").rowcount
            expired = conn.execute(
                f"UPDATE submissions SET payload = NULL, contact = NULL, notify_phone = NULL, last_error = NULL, "
                f"cancel_reason = NULL, assisted_by = CASE WHEN assisted_by IS NULL THEN NULL ELSE ? END, "
                f"purged_at = coalesce(purged_at, ?), contact_purged_at = coalesce(contact_purged_at, ?) "
                f"WHERE state IN ({finished}) AND created_at < ? AND (purged_at IS NULL OR last_error IS NOT NULL "
                f"OR cancel_reason IS NOT NULL OR assisted_by != ?) RETURNING id, reference",
                (PURGED_VOLUNTEER, now, now, cutoff, PURGED_VOLUNTEER)).fetchall()
            notes = notes_module.purge(conn, [row_id for row_id, _ in expired], cutoff)
            reasons = self._purge_audited_reasons(conn, {reference_module.display(ref) for _, ref in expired})
            followups |= purge_hook(self, conn, cutoff, before=False)
        counts = {"contact": contact, "notify_phone": closed, "expired": len(expired), "notes": notes,
                  "audited_reasons": reasons, **followups}
        if any(counts.values()):
            db_module.truncate_wal(self.db)
        return counts

    @staticmethod
    def _purge_audited_reasons(conn: sqlite3.Connection, shown: set[str]) -> int:
        """Staff's cancel reasons and resend notes in the audit log (`detail`, by reference) of the
        submissions purged just now. Who did what, and when, is kept."""
        if not shown:
            return 0
        ids = [(row_id,) for row_id, subject in conn.execute(
            "SELECT id, subject FROM audit_log WHERE action IN ('cancel', 'resend') AND detail IS NOT NULL")
            if subject in shown]
        conn.executemany("UPDATE audit_log SET detail = NULL WHERE id = ?", ids)
        return len(ids)

    def personal(self, reference: str) -> dict[str, Any]:
        """The decrypted personal fields of one submission, for the few places that need them."""
        canonical = reference_module.parse(reference)
        row = self.db.conn.execute("SELECT payload, contact, notify_phone FROM submissions WHERE reference = ?",
                                   (canonical,)).fetchone()
        if row is None:
            raise TransitionError(f"no submission with reference {reference}")
        return {"payload": self.vault.open(row[0]), "contact": self.vault.open(row[1]),
                "notify_phone": self.vault.open(row[2])}

    # -----------------------------------------------------------------------------------------
    # What the worker knows and what the channels ask of it

    def set_backoffice_state(self, name: str, *, reachable: bool | None = None, error: str | None = None,
                             paused: bool | None = None, paused_reason: str | None = None) -> None:
        now = self._now()
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO backoffice_state (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
            if reachable is not None:
                conn.execute("UPDATE backoffice_state SET reachable = ?, checked_at = ? WHERE name = ?",
                             (int(reachable), now, name))
                if reachable and error is None:
                    conn.execute("UPDATE backoffice_state SET last_success_at = ? WHERE name = ?", (now, name))
            if error is not None:
                conn.execute("UPDATE backoffice_state SET last_error = ?, last_error_at = ? WHERE name = ?",
                             (error, now, name))
            if paused is not None:
                conn.execute("UPDATE backoffice_state SET paused = ?, paused_reason = ? WHERE name = ?",
                             (int(paused), paused_reason if paused else None, name))

    def backoffice_states(self) -> dict[str, dict[str, Any]]:
        keys = ("reachable", "checked_at", "last_success_at", "last_error", "last_error_at", "paused", "paused_reason",
                "search_mode", "search_verified_at", "search_failing_since", "search_error")
        rows = self.db.conn.execute(f"SELECT name, {', '.join(keys)} FROM backoffice_state ORDER BY name").fetchall()
        return {row[0]: dict(zip(keys, row[1:])) for row in rows}

    def set_search_state(self, name: str, *, mode: str | None = None, verified: bool | None = None,
                         failing: str | None = None, working: bool = False) -> None:
        """What the worker learnt of a back office's search: how it pages (`mode`, JSON), that a
        search just found a known request (`verified`; False forgets it, as a catalogue refresh
        does), that searches fail and why (`failing`, since the first failure), or work again."""
        now = self._now()
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO backoffice_state (name) VALUES (?) ON CONFLICT (name) DO NOTHING", (name,))
            if mode is not None:
                conn.execute("UPDATE backoffice_state SET search_mode = ? WHERE name = ?", (mode, name))
            if verified is not None:
                conn.execute("UPDATE backoffice_state SET search_verified_at = ? WHERE name = ?",
                             (now if verified else None, name))
            if failing is not None:
                conn.execute("UPDATE backoffice_state SET search_error = ?, "
                             "search_failing_since = coalesce(search_failing_since, ?) WHERE name = ?",
                             (failing, now, name))
            if working:
                conn.execute("UPDATE backoffice_state SET search_error = NULL, search_failing_since = NULL "
                             "WHERE name = ?", (name,))

    def request(self, name: str) -> None:
        """Leave a request (such as "sync_now") for the worker."""
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO requests (name, requested_at) VALUES (?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET requested_at = excluded.requested_at", (name, self._now()))

    def take_request(self, name: str) -> bool:
        """Whether the request was waiting; taking it removes it."""
        with db_module.write(self.db) as conn:
            return conn.execute("DELETE FROM requests WHERE name = ?", (name,)).rowcount > 0

    # -----------------------------------------------------------------------------------------
    # The catalogue in force

    def catalogue(self) -> catalogue_module.Catalogue:
        """The cached council catalogue merged with the bundled overlay, or the bundled one.

        Parsed and merged once per catalogue the worker saves (another process may save one at
        any time, so each call looks at its stamp), not once per call."""
        stamp = self.db.conn.execute("SELECT fetched_at, version FROM catalogue_cache WHERE id = 1").fetchone()
        stamp = tuple(stamp) if stamp else None
        if self._catalogue is None or self._catalogue[0] != stamp:
            body = self.db.conn.execute("SELECT body FROM catalogue_cache WHERE id = 1").fetchone() if stamp else None
            self._catalogue = (stamp, catalogue_module.current(body[0] if body else None, self.overlay_pins))
        return self._catalogue[1]

    def save_council_catalogue(self, council: catalogue_module.Catalogue) -> None:
        """Keep the last good council catalogue (only ever replaced by another good one)."""
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO catalogue_cache (id, version, fetched_at, body) VALUES (1, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET version = excluded.version, fetched_at = excluded.fetched_at, "
                         "body = excluded.body", (council.version, self._now(), council.to_json()))

    def catalogue_fetched_at(self) -> datetime | None:
        row = self.db.conn.execute("SELECT fetched_at FROM catalogue_cache WHERE id = 1").fetchone()
        return parse_iso(row[0]) if row else None

