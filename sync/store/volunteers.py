"""Volunteers and staff at a kiosk: their accounts, PINs, lockout and roles, and the staff actions
they take on residents' requests.

Accounts live in each kiosk's store (`assist volunteer add|list|disable`). A PIN is six to twelve
digits, not one of the commonest (sync/data/common_pins.toml names its source), one digit
repeated, a run of consecutive digits or a short block repeated; it is kept only as an argon2id
hash. A PIN set before these rules that breaks them still signs in once, and must then be
changed (PinChangeRequired, change_pin) before the volunteer can go on. Five wrong PINs in a
row lock that volunteer out for 15 minutes, by the store's clock. Every sign-in, sign-out, staff action and refusal is
written to the audit log (sync/audit.py), never with the PIN.

What the kiosk calls:

    names(store)                            -> [Volunteer]  the sign-in list
    sign_in(store, name, pin)               -> Volunteer    or raises SignInRefused(reason, ...)
                                                            or PinChangeRequired (a weak PIN)
    change_pin(store, required, new_pin)    -> Volunteer    or raises AccountError (weak) / AccountChanged
    sign_out(store, volunteer, "button" | "inactivity")
    volunteer.can(action)                   -> bool         to show or hide an action
    require(store, volunteer, action)       raises NotAllowed (audited) when the role may not
    maintenance(store, volunteer)           a supervisor may leave the kiosk (the kiosk leaves)
    sync_now(store, volunteer)
    correct(store, volunteer, reference, location=..., attributes=..., description=..., note=...)
    resend(store, volunteer, reference, note)
    cancel(store, volunteer, reference, reason)
    ask_to_resolve(store, volunteer, reference, council_id)   supervisors: "it is at the council"
    resolve_not_at_council(store, volunteer, reference, note) supervisors: "it is not: send again"

The staff actions refuse a state the outbox does not allow with sync.store.TransitionError (a
resend or correction of a request that may already be at the council with its subclass
MaybeSent: it must be resolved instead), and a cancel without a reason with ValueError; each is
audited in the same transaction as the change. The command line acts as OPERATOR (`cli`):
whoever can run `assist` on the kiosk holds the store and its key already.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from sync import reference as reference_module
from sync.flow import clean_text
from sync.store import audit, iso, parse_iso
from sync.store import db as db_module

log = logging.getLogger(__name__)

ROLES = ("volunteer", "supervisor")
PIN_MIN_DIGITS = 6
#: As long as the kiosk's PIN field takes: a longer PIN could be set but never typed.
PIN_MAX_DIGITS = 12
MAX_WRONG_PINS = 5
LOCKOUT = timedelta(minutes=15)
NAME_MAX = 40
SIGN_OUT_REASONS = ("button", "inactivity", "declined")  # declined: the resident wanted no help
#: The role each kiosk action needs. A supervisor may do everything a volunteer may.
PERMISSIONS = {
    "dashboard": "volunteer", "sync_now": "volunteer", "correct": "volunteer", "resend": "volunteer",
    "cancel": "volunteer", "maintenance": "supervisor", "resolve": "supervisor",
}

#: argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile): tens of milliseconds a
#: guess, on purpose.
_hasher = PasswordHasher()


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


# ---------------------------------------------------------------------------------------------
# Accounts (the command line)

def check_pin(pin: str) -> str:
    """The PIN if it is acceptable, else AccountError saying what a PIN must be."""
    if not (pin.isascii() and pin.isdigit()):
        raise AccountError("A PIN is digits only (0 to 9), with no spaces or letters.")
    if not PIN_MIN_DIGITS <= len(pin) <= PIN_MAX_DIGITS:
        raise AccountError(f"A PIN is {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits long.")
    problem = weak_pin(pin)
    if problem is not None:
        raise AccountError(f"That PIN is {problem}, among the first anyone would try; choose another.")
    return pin


def weak_pin(pin: str) -> str | None:
    """Why a PIN of the right shape is too easy to guess, or None."""
    if pin in common_pins():
        return "one of the commonest PINs"
    if len(set(pin)) == 1:
        return "one digit repeated"
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:])}
    if steps in ({1}, {9}):  # 9: down by one; 9 to 0 going up, and 0 to 9 going down, continue a run
        return "a run of consecutive digits"
    for size in range(2, len(pin) // 2 + 1):
        if len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size):
            return "a short block of digits repeated"
    return None


@cache
def common_pins() -> frozenset[str]:
    """The published list of the commonest PINs (its source is named in the file)."""
    text = resources.files("sync").joinpath("data/common_pins.toml").read_text(encoding="utf-8")
    return frozenset(tomllib.loads(text)["pins"])


def _clean_name(name: str) -> str:
    cleaned = clean_text(name)
    if not cleaned:
        raise AccountError("Give the volunteer a name, as it should appear in the kiosk's list.")
    if len(cleaned) > NAME_MAX:
        raise AccountError(f"A name is at most {NAME_MAX} characters: the kiosk shows it in a list.")
    if cleaned.casefold() == OPERATOR.name:
        raise AccountError(f"'{OPERATOR.name}' is kept for the command line in the audit log; choose another name.")
    return cleaned


def add(store, name: str, role: str, pin: str) -> Volunteer:
    """Add an account; a name already here (in any case) is refused with AccountError."""
    name = _clean_name(name)
    if role not in ROLES:
        raise AccountError(f"A role is one of: {', '.join(ROLES)}.")
    pin_hash = _hasher.hash(check_pin(pin))  # slow on purpose: before the write lock is taken
    now = iso(store.clock())
    with audit.audited(store, OPERATOR.name, "add", name, role) as conn:
        if conn.execute("SELECT 1 FROM volunteers WHERE name = ?", (name,)).fetchone():  # in any case
            raise AccountError(f"There is already a volunteer called {name} on this kiosk; choose another name.")
        conn.execute("INSERT INTO volunteers (name, role, pin_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (name, role, pin_hash, now, now))
    log.info("volunteer %s added as %s", name, role)
    return Volunteer(name, role)


def accounts(store) -> list[Account]:
    """Every account, enabled or not, by name."""
    rows = store.db.conn.execute("SELECT name, role, disabled_at, locked_until FROM volunteers "
                                 "ORDER BY name COLLATE NOCASE").fetchall()
    now = store.clock()
    found = []
    for name, role, disabled, locked in rows:
        locked_until = parse_iso(locked) if locked else None
        found.append(Account(name, role, parse_iso(disabled) if disabled else None,
                             locked_until if locked_until and locked_until > now else None))
    return found


def disable(store, name: str) -> bool:
    """Stop an account signing in; the row stays, as the audit log refers to it. False when it
    was disabled already; AccountError when there is no such account."""
    with audit.audited(store, OPERATOR.name, "disable", name) as conn:
        row = conn.execute("SELECT disabled_at FROM volunteers WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise AccountError(f"There is no volunteer called {name} on this kiosk.")
        if row[0] is not None:
            return False
        now = iso(store.clock())
        conn.execute("UPDATE volunteers SET disabled_at = ?, updated_at = ? WHERE name = ?", (now, now, name))
    log.info("volunteer %s disabled", name)
    return True


# ---------------------------------------------------------------------------------------------
# Signing in and out (the kiosk)

def names(store) -> list[Volunteer]:
    """Enabled volunteers, by name, for the kiosk's sign-in list (locked ones included: choosing
    one says until when)."""
    return [Volunteer(name, role) for name, role in store.db.conn.execute(
        "SELECT name, role FROM volunteers WHERE disabled_at IS NULL ORDER BY name COLLATE NOCASE")]


def _matches(pin_hash: str, pin: str) -> bool:
    try:
        return _hasher.verify(pin_hash, pin)
    except (VerificationError, InvalidHashError):
        return False


def _refuse(store, name: str, refusal: SignInRefused) -> SignInRefused:
    audit.record(store, name, "sign_in", "refused", detail=str(refusal))
    log.warning("sign-in refused for %s: %s", name, refusal)
    return refusal


def sign_in(store, name: str, pin: str) -> Volunteer:
    """The volunteer, if `pin` is theirs and they may sign in; else raise SignInRefused.

    The PIN is checked outside any write transaction (argon2 is slow on purpose), then the
    outcome is recorded with a compare-and-set on the failure count: if another kiosk's try was
    recorded in between, this one is judged again on what that left, so five wrong PINs lock the
    account however many kiosks try at once."""
    verified: dict[str, bool] = {}  # PIN hash -> whether `pin` matches it
    while True:
        row = store.db.conn.execute("SELECT name, role, pin_hash, failed_pins, locked_until, disabled_at "
                                    "FROM volunteers WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise _refuse(store, name, SignInRefused("unknown"))
        name, role, pin_hash, failed, locked_until, disabled_at = row
        if disabled_at is not None:
            raise _refuse(store, name, SignInRefused("disabled"))
        now = store.clock()
        if locked_until is not None and parse_iso(locked_until) > now:
            raise _refuse(store, name, SignInRefused("locked", until=parse_iso(locked_until)))
        if pin_hash not in verified:
            verified[pin_hash] = _matches(pin_hash, pin)
        weak = None
        if verified[pin_hash]:
            counts, refusal = (0, None), None
            weak = _pin_problem(pin)
        elif failed + 1 >= MAX_WRONG_PINS:
            until = now + LOCKOUT
            counts, refusal = (0, iso(until)), SignInRefused("locked", until=until)
        else:
            counts, refusal = (failed + 1, None), SignInRefused("wrong_pin", attempts_left=MAX_WRONG_PINS - failed - 1)
        with db_module.write(store.db) as conn:
            recorded = conn.execute(
                "UPDATE volunteers SET failed_pins = ?, locked_until = ?, updated_at = ? WHERE name = ? "
                "AND failed_pins = ? AND locked_until IS ? AND pin_hash = ? AND disabled_at IS NULL",
                (*counts, iso(now), name, failed, locked_until, pin_hash)).rowcount
            if recorded and weak is not None:
                audit.record(store, name, "sign_in", "ok", detail=f"{role}; weak PIN: a new one is required")
            elif recorded and refusal is None:
                audit.record(store, name, "sign_in", "ok", detail=role)
            elif recorded:
                _refuse(store, name, refusal)
        if not recorded:
            continue  # another try was recorded first
        if refusal is not None:
            raise refusal
        if weak is not None:
            log.warning("volunteer %s gave a right but weak PIN: a new one is required", name)
            raise PinChangeRequired(Volunteer(name, role), pin_hash, weak)
        log.info("volunteer %s signed in", name)
        return Volunteer(name, role)


def _pin_problem(pin: str) -> str | None:
    try:
        check_pin(pin)
    except AccountError as error:
        return str(error)
    return None


def change_pin(store, required: PinChangeRequired, new_pin: str) -> Volunteer:
    """Replace the weak PIN behind `required` with `new_pin` and sign the volunteer in.

    AccountError when the new PIN breaks the rules (the old one always does), AccountChanged when
    the account changed meanwhile (switched off, or its PIN changed elsewhere)."""
    volunteer = required.volunteer
    check_pin(new_pin)
    pin_hash = _hasher.hash(new_pin)  # slow on purpose: before the write lock is taken
    now = iso(store.clock())
    with audit.audited(store, volunteer.name, "change_pin", volunteer.name) as conn:
        changed = conn.execute("UPDATE volunteers SET pin_hash = ?, failed_pins = 0, locked_until = NULL, "
                               "updated_at = ? WHERE name = ? AND pin_hash = ? AND disabled_at IS NULL",
                               (pin_hash, now, volunteer.name, required.ticket)).rowcount
        if not changed:
            raise AccountChanged("This account changed meanwhile (switched off, or its PIN changed); sign in again.")
        audit.record(store, volunteer.name, "sign_in", "ok", detail=volunteer.role)
    log.info("volunteer %s chose a new PIN and signed in", volunteer.name)
    return volunteer


def sign_out(store, volunteer: Volunteer, reason: str) -> None:
    """Record that the volunteer left: "button" (they signed out) or "inactivity" (the wipe)."""
    if reason not in SIGN_OUT_REASONS:
        raise ValueError(f"unknown sign-out reason {reason!r}")
    audit.record(store, volunteer.name, "sign_out", "ok", detail=reason)


# ---------------------------------------------------------------------------------------------
# What a signed-in volunteer may do

def require(store, volunteer: Volunteer, action: str) -> None:
    """Raise NotAllowed, and audit the refusal, when the volunteer's role may not take `action`,
    or when their account was disabled since they signed in (a kiosk's session does not outlive
    the account)."""
    row = store.db.conn.execute("SELECT disabled_at FROM volunteers WHERE name = ?", (volunteer.name,)).fetchone()
    disabled = row is not None and row[0] is not None  # ("cli" has no row: it is never disabled)
    if disabled or not volunteer.can(action):
        refusal = NotAllowed(volunteer, action)
        audit.record(store, volunteer.name, action, "refused", detail=str(refusal))
        raise refusal


def maintenance(store, volunteer: Volunteer) -> None:
    """A supervisor may leave the kiosk for maintenance: allowed and audited, or NotAllowed.
    The kiosk does the leaving."""
    require(store, volunteer, "maintenance")
    audit.record(store, volunteer.name, "maintenance", "ok")


def sync_now(store, volunteer: Volunteer) -> None:
    """Leave a "sync now" request for the worker."""
    require(store, volunteer, "sync_now")
    with audit.audited(store, volunteer.name, "sync_now"):
        store.request("sync_now")


def _subject(reference: str) -> str:
    canonical = reference_module.parse(reference)
    return reference_module.display(canonical) if canonical else reference


def correct(store, volunteer: Volunteer, reference: str, *, location: dict[str, Any] | None = None,
            attributes: dict[str, Any] | None = None, description: str | None = None, note: str = "") -> None:
    """Correct a request that needs attention and send it again (Store.correct), audited with
    the names of the fields changed, never their values."""
    require(store, volunteer, "correct")
    changed = [field for field, value in (("location", location), ("attributes", attributes),
                                          ("description", description)) if value is not None]
    with audit.audited(store, volunteer.name, "correct", _subject(reference), ", ".join(changed) or None):
        store.correct(reference, location=location, attributes=attributes, description=description, note=note)
        store.request("sync_now")


def resend(store, volunteer: Volunteer, reference: str, note: str = "") -> None:
    """Send a request that needs attention again, unchanged, once its reason is dealt with."""
    require(store, volunteer, "resend")
    with audit.audited(store, volunteer.name, "resend", _subject(reference), note or None):
        store.requeue(reference, note)
        store.request("sync_now")


def cancel(store, volunteer: Volunteer, reference: str, reason: str) -> None:
    """Cancel a request that has not gone; the reason goes into its history and the audit log."""
    require(store, volunteer, "cancel")
    with audit.audited(store, volunteer.name, "cancel", _subject(reference), reason.strip() or None):
        store.cancel(reference, reason)


def ask_to_resolve(store, volunteer: Volunteer, reference: str, council_id: str) -> None:
    """A supervisor says the request is at the council under `council_id`. The kiosk cannot
    check that (it never calls out): the request is left for the sync worker, which checks it
    as `assist outbox resolve --council-id` does (sync.open311.resolve) and records the outcome."""
    require(store, volunteer, "resolve")
    with audit.audited(store, volunteer.name, "resolve", _subject(reference),
                       f"council id {council_id.strip()}: left for the sync worker to check"):
        store.request_resolution(reference, council_id, volunteer.name)
        store.request("sync_now")


def resolve_not_at_council(store, volunteer: Volunteer, reference: str, note: str = "") -> None:
    """Staff are sure the request is not at the council (maybe sent or not): queue it again."""
    require(store, volunteer, "resolve")
    with audit.audited(store, volunteer.name, "resolve", _subject(reference), "not at the council"):
        store.resolve_not_at_council(reference, note=f"not at the council (said by {volunteer.name}); sent again"
                                                     + (f": {note.strip()}" if note.strip() else ""))
        store.request("sync_now")
