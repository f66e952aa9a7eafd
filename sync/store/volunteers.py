"""Volunteers and staff at a kiosk: their accounts, sign-in and roles, and the staff actions they
take on residents' requests.

Accounts live in each kiosk's store (`assist volunteer add|list|disable`). A PIN follows the rules
of sync/store/pins.py and is kept only as an argon2id hash; one set before those rules that breaks
them signs in once, and must then be changed (PinChangeRequired, change_pin). Five wrong PINs in a
row lock the account for 15 minutes, by the store's clock, however many kiosks try at once.

The kiosk signs volunteers in and out (names, sign_in, change_pin, sign_out), shows what a role
may do (Volunteer.can) and takes staff actions (correct, resend, cancel, sync_now, maintenance,
ask_to_resolve, resolve_not_at_council). Each action is checked (`require`: NotAllowed) and audited
in the same transaction as its change; the outbox refuses what it does not allow (TransitionError,
or MaybeSent for a request that may already be at the council: it must be resolved instead). Every
sign-in, sign-out, action and refusal is in the audit log (sync/store/audit.py), never the PIN.
The command line acts as OPERATOR (`cli`): whoever can run `assist` on the kiosk holds the store
and its key already.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sync.flow import clean_text
from sync.store import audit, pins
from sync.store import db as db_module
from sync.store.base import shown
from sync.store.pins import PIN_MAX_DIGITS as PIN_MAX_DIGITS
from sync.store.pins import PIN_MIN_DIGITS as PIN_MIN_DIGITS
from sync.store.pins import common_pins as common_pins
from sync.store.pins import weak_pin as weak_pin
from sync.store.times import iso, parse_iso

if TYPE_CHECKING:
    from sync.store.store import Store

log = logging.getLogger(__name__)

ROLES = ("volunteer", "supervisor")
MAX_WRONG_PINS = 5
LOCKOUT = timedelta(minutes=15)
NAME_MAX = 40
SIGN_OUT_REASONS = ("button", "inactivity", "declined")  # declined: the resident wanted no help
#: The role each kiosk action needs. A supervisor may do everything a volunteer may.
PERMISSIONS = {
    "dashboard": "volunteer", "sync_now": "volunteer", "correct": "volunteer", "resend": "volunteer",
    "cancel": "volunteer", "maintenance": "supervisor", "resolve": "supervisor",
}

class AccountError(ValueError):
    """An account cannot be added or changed as asked; the message says why, for the person."""


@dataclass(frozen=True)
class Volunteer:
    """Someone signed in (or who may sign in) at this kiosk."""

    name: str
    role: str

    def can(self, action: str) -> bool:
        """Whether this role may take `action` (a key of PERMISSIONS)."""
        return self.role == "supervisor" or PERMISSIONS[action] == "volunteer"


#: The command line: an actor with a supervisor's rights, named `cli` in the audit log.
OPERATOR = Volunteer("cli", "supervisor")


@dataclass(frozen=True)
class Account:
    """An account as `assist volunteer list` shows it: never its PIN hash."""

    name: str
    role: str
    disabled_at: datetime | None
    locked_until: datetime | None


class SignInRefused(Exception):
    """A sign-in the kiosk must refuse. `reason` is one of "wrong_pin" (with `attempts_left`),
    "locked" (with `until`), "disabled" or "unknown", for the kiosk to put in the resident's
    and volunteer's language."""

    def __init__(self, reason: str, *, attempts_left: int | None = None, until: datetime | None = None) -> None:
        self.reason, self.attempts_left, self.until = reason, attempts_left, until
        detail = {"wrong_pin": f"wrong PIN, {attempts_left} tries left", "locked": f"locked until {until}",
                  "disabled": "account disabled", "unknown": "no such volunteer"}[reason]
        super().__init__(detail)


class AccountChanged(AccountError):
    """The account changed between a sign-in and what followed it (switched off, or its PIN
    changed on another kiosk): sign in again."""


class PinChangeRequired(Exception):
    """The PIN was right but breaks the PIN rules (it was set before them): the volunteer must
    choose a new one (change_pin) before they are signed in. `ticket` is opaque to the caller
    (the PIN hash that was verified, never the PIN); it is good for one change."""

    def __init__(self, volunteer: Volunteer, ticket: str, problem: str) -> None:
        self.volunteer, self.ticket, self.problem = volunteer, ticket, problem
        super().__init__(f"{volunteer.name} must choose a new PIN: {problem}")


class NotAllowed(Exception):
    """A volunteer tried an action their role does not allow (it has been audited)."""

    def __init__(self, volunteer: Volunteer, action: str) -> None:
        self.volunteer, self.action = volunteer, action
        super().__init__(f"{action} needs a {PERMISSIONS[action]}; {volunteer.name} is a {volunteer.role}")


# Accounts (the command line)

def check_pin(pin: str) -> str:
    """The PIN if it is acceptable, else AccountError saying what a PIN must be."""
    found = pins.problem(pin)
    if found is not None:
        raise AccountError(found)
    return pin


def _clean_name(name: str) -> str:
    cleaned = clean_text(name)
    if not cleaned:
        raise AccountError("Give the volunteer a name, as it should appear in the kiosk's list.")
    if len(cleaned) > NAME_MAX:
        raise AccountError(f"A name is at most {NAME_MAX} characters: the kiosk shows it in a list.")
    if cleaned.casefold() == OPERATOR.name:
        raise AccountError(f"'{OPERATOR.name}' is kept for the command line in the audit log; choose another name.")
    return cleaned


def add(store: Store, name: str, role: str, pin: str) -> Volunteer:
    """Add an account; a name already here (in any case) is refused with AccountError."""
    name = _clean_name(name)
    if role not in ROLES:
        raise AccountError(f"A role is one of: {', '.join(ROLES)}.")
    pin_hash = pins.hash_pin(check_pin(pin))  # slow on purpose: before the write lock is taken
    now = iso(store.clock())
    with audit.audited(store, OPERATOR.name, "add", name, role) as conn:
        if conn.execute("SELECT 1 FROM volunteers WHERE lower(name) = lower(?)", (name,)).fetchone():  # in any case
            raise AccountError(f"There is already a volunteer called {name} on this kiosk; choose another name.")
        conn.execute("INSERT INTO volunteers (name, role, pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (name, role, pin_hash, now, now))
    log.info("volunteer %s added as %s", name, role)
    return Volunteer(name, role)


def accounts(store: Store) -> list[Account]:
    """Every account, enabled or not, by name (a lockout shown only while it lasts)."""
    now = store.clock()
    return [Account(name, role, parse_iso(disabled) if disabled else None,
                    parse_iso(locked) if locked and parse_iso(locked) > now else None)
            for name, role, disabled, locked in store.db.conn.execute(
                "SELECT name, role, disabled_at, locked_until FROM volunteers ORDER BY lower(name), name")]


def disable(store: Store, name: str) -> bool:
    """Stop an account signing in; the row stays, as the audit log refers to it. False when it
    was disabled already; AccountError when there is no such account."""
    with audit.audited(store, OPERATOR.name, "disable", name) as conn:
        row = conn.execute("SELECT disabled_at FROM volunteers WHERE lower(name) = lower(?)", (name,)).fetchone()
        if row is None:
            raise AccountError(f"There is no volunteer called {name} on this kiosk.")
        if row[0] is not None:
            return False
        now = iso(store.clock())
        conn.execute("UPDATE volunteers SET disabled_at = ?, updated_at = ? WHERE lower(name) = lower(?)",
                     (now, now, name))
    log.info("volunteer %s disabled", name)
    return True


# Signing in and out (the kiosk)

def names(store: Store) -> list[Volunteer]:
    """Enabled volunteers, by name, for the kiosk's sign-in list (locked ones included: choosing
    one says until when)."""
    return [Volunteer(name, role) for name, role in store.db.conn.execute(
        "SELECT name, role FROM volunteers WHERE disabled_at IS NULL ORDER BY lower(name), name")]


def _refuse(store: Store, name: str, refusal: SignInRefused) -> SignInRefused:
    audit.record(store, name, "sign_in", "refused", detail=str(refusal))
    log.warning("sign-in refused for %s: %s", name, refusal)
    return refusal


@dataclass(frozen=True)
class _Account:
    """An account's row as a sign-in found it: what its recorded outcome is compared against."""

    name: str
    role: str
    pin_hash: str
    failed: int
    locked_until: str | None


@dataclass(frozen=True)
class _Try:
    """What one sign-in try comes to: the counts it leaves, and why it is refused or must change the PIN."""

    failed: int
    locked_until: str | None
    refusal: SignInRefused | None = None
    weak: str | None = None


def sign_in(store: Store, name: str, pin: str) -> Volunteer:
    """The volunteer, if `pin` is theirs and they may sign in; else raise SignInRefused.

    The PIN is checked outside any write transaction (argon2 is slow on purpose), then the
    outcome is recorded with a compare-and-set on the failure count: if another kiosk's try was
    recorded in between, this one is judged again on what that left, so five wrong PINs lock the
    account however many kiosks try at once."""
    verified: dict[str, bool] = {}  # PIN hash -> whether `pin` matches it
    while True:
        now = store.clock()
        account = _account(store, name, now)
        if account.pin_hash not in verified:
            verified[account.pin_hash] = pins.matches(account.pin_hash, pin)
        outcome = _judged(account, verified[account.pin_hash], pin, now)
        if _recorded(store, account, outcome, now):
            break
        name = account.name  # another try was recorded first: judged again on what it left
    if outcome.refusal is not None:
        raise outcome.refusal
    if outcome.weak is not None:
        log.warning("volunteer %s gave a right but weak PIN: a new one is required", account.name)
        raise PinChangeRequired(Volunteer(account.name, account.role), account.pin_hash, outcome.weak)
    log.info("volunteer %s signed in", account.name)
    return Volunteer(account.name, account.role)


def _account(store: Store, name: str, now: datetime) -> _Account:
    """The account that may try to sign in as `name`, or SignInRefused (unknown, disabled, locked)."""
    row = store.db.conn.execute("SELECT name, role, pin_hash, failed_pins, locked_until, disabled_at "
                                "FROM volunteers WHERE lower(name) = lower(?)", (name,)).fetchone()
    if row is None:
        raise _refuse(store, name, SignInRefused("unknown"))
    account = _Account(*row[:5])
    if row[5] is not None:
        raise _refuse(store, account.name, SignInRefused("disabled"))
    if account.locked_until is not None and parse_iso(account.locked_until) > now:
        raise _refuse(store, account.name, SignInRefused("locked", until=parse_iso(account.locked_until)))
    return account


def _judged(account: _Account, matches: bool, pin: str, now: datetime) -> _Try:
    """A right PIN clears the count (and may be weak); the fifth wrong one in a row locks the account."""
    if matches:
        return _Try(0, None, weak=pins.problem(pin))
    if account.failed + 1 >= MAX_WRONG_PINS:
        until = now + LOCKOUT
        return _Try(0, iso(until), SignInRefused("locked", until=until))
    left = MAX_WRONG_PINS - account.failed - 1
    return _Try(account.failed + 1, None, SignInRefused("wrong_pin", attempts_left=left))


def _recorded(store: Store, account: _Account, outcome: _Try, now: datetime) -> bool:
    """Record the try and audit it, unless the account changed since it was read (False)."""
    with db_module.write(store.db) as conn:
        recorded = conn.execute(
            "UPDATE volunteers SET failed_pins = ?, locked_until = ?, updated_at = ? WHERE lower(name) = lower(?) "
            "AND failed_pins = ? AND locked_until IS NOT DISTINCT FROM ? AND pin_hash = ? AND disabled_at IS NULL",
            (outcome.failed, outcome.locked_until, iso(now), account.name, account.failed, account.locked_until,
             account.pin_hash)).rowcount
        if not recorded:
            return False
        if outcome.refusal is not None:
            _refuse(store, account.name, outcome.refusal)
        elif outcome.weak is not None:
            audit.record(store, account.name, "sign_in", "ok",
                         detail=f"{account.role}; weak PIN: a new one is required")
        else:
            audit.record(store, account.name, "sign_in", "ok", detail=account.role)
    return True


def change_pin(store: Store, required: PinChangeRequired, new_pin: str) -> Volunteer:
    """Replace the weak PIN behind `required` with `new_pin` and sign the volunteer in.

    AccountError when the new PIN breaks the rules (the old one always does), AccountChanged when
    the account changed meanwhile (switched off, or its PIN changed elsewhere)."""
    volunteer = required.volunteer
    check_pin(new_pin)
    pin_hash = pins.hash_pin(new_pin)  # slow on purpose: before the write lock is taken
    now = iso(store.clock())
    with audit.audited(store, volunteer.name, "change_pin", volunteer.name) as conn:
        changed = conn.execute("UPDATE volunteers SET pin_hash = ?, failed_pins = 0, locked_until = NULL, "
                               "updated_at = ? WHERE lower(name) = lower(?) AND pin_hash = ? AND disabled_at IS NULL",
                               (pin_hash, now, volunteer.name, required.ticket)).rowcount
        if not changed:
            raise AccountChanged("This account changed meanwhile (switched off, or its PIN changed); sign in again.")
        audit.record(store, volunteer.name, "sign_in", "ok", detail=volunteer.role)
    log.info("volunteer %s chose a new PIN and signed in", volunteer.name)
    return volunteer


def sign_out(store: Store, volunteer: Volunteer, reason: str) -> None:
    """Record that the volunteer left: "button" (they signed out) or "inactivity" (the wipe)."""
    if reason not in SIGN_OUT_REASONS:
        raise ValueError(f"unknown sign-out reason {reason!r}")
    audit.record(store, volunteer.name, "sign_out", "ok", detail=reason)


# What a signed-in volunteer may do

def require(store: Store, volunteer: Volunteer, action: str) -> None:
    """Raise NotAllowed, and audit the refusal, when the volunteer's role may not take `action`,
    or when their account was disabled since they signed in (a kiosk's session does not outlive
    the account)."""
    row = store.db.conn.execute("SELECT disabled_at FROM volunteers WHERE lower(name) = lower(?)",
                                (volunteer.name,)).fetchone()
    disabled = row is not None and row[0] is not None  # ("cli" has no row: it is never disabled)
    if disabled or not volunteer.can(action):
        refusal = NotAllowed(volunteer, action)
        audit.record(store, volunteer.name, action, "refused", detail=str(refusal))
        raise refusal


def maintenance(store: Store, volunteer: Volunteer) -> None:
    """A supervisor may leave the kiosk for maintenance: allowed and audited, or NotAllowed.
    The kiosk does the leaving."""
    require(store, volunteer, "maintenance")
    audit.record(store, volunteer.name, "maintenance", "ok")


def sync_now(store: Store, volunteer: Volunteer) -> None:
    """Leave a "sync now" request for the worker."""
    require(store, volunteer, "sync_now")
    with audit.audited(store, volunteer.name, "sync_now"):
        store.request("sync_now")


def correct(store: Store, volunteer: Volunteer, reference: str, *, location: dict[str, Any] | None = None,
            attributes: dict[str, Any] | None = None, description: str | None = None, note: str = "") -> None:
    """Correct a request that needs attention and send it again (Store.correct), audited with
    the names of the fields changed, never their values."""
    require(store, volunteer, "correct")
    changed = [field for field, value in (("location", location), ("attributes", attributes),
                                          ("description", description)) if value is not None]
    with audit.audited(store, volunteer.name, "correct", shown(reference), ", ".join(changed) or None):
        store.correct(reference, location=location, attributes=attributes, description=description, note=note)
        store.request("sync_now")


def resend(store: Store, volunteer: Volunteer, reference: str, note: str = "") -> None:
    """Send a request that needs attention again, unchanged, once its reason is dealt with."""
    require(store, volunteer, "resend")
    with audit.audited(store, volunteer.name, "resend", shown(reference), note or None):
        store.requeue(reference, note)
        store.request("sync_now")


def cancel(store: Store, volunteer: Volunteer, reference: str, reason: str) -> None:
    """Cancel a request that has not gone; the reason goes into its history and the audit log."""
    require(store, volunteer, "cancel")
    with audit.audited(store, volunteer.name, "cancel", shown(reference), reason.strip() or None):
        store.cancel(reference, reason)


def ask_to_resolve(store: Store, volunteer: Volunteer, reference: str, council_id: str) -> None:
    """A supervisor says the request is at the council under `council_id`. The kiosk cannot
    check that (it never calls out): the request is left for the sync worker, which checks it
    as `assist outbox resolve --council-id` does (sync.open311.resolve) and records the outcome."""
    require(store, volunteer, "resolve")
    with audit.audited(store, volunteer.name, "resolve", shown(reference),
                       f"council id {council_id.strip()}: left for the sync worker to check"):
        store.request_resolution(reference, council_id, volunteer.name)
        store.request("sync_now")


def resolve_not_at_council(store: Store, volunteer: Volunteer, reference: str, note: str = "") -> None:
    """Staff are sure the request is not at the council (maybe sent or not): queue it again."""
    require(store, volunteer, "resolve")
    with audit.audited(store, volunteer.name, "resolve", shown(reference), "not at the council"):
        store.resolve_not_at_council(reference, note=f"not at the council (said by {volunteer.name}); sent again"
                                                     + (f": {note.strip()}" if note.strip() else ""))
        store.request("sync_now")
