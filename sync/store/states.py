"""The outbox's state machine: its states, which may follow which, and the refusals it makes.

A submission is `queued` when saved, `sending` from just before its request leaves (so an
interrupted send is known to be ambiguous and is reconciled, never blindly repeated), then
`awaiting_id`, `accepted` or `needs_attention`; staff may cancel it or carry it away (`exported`).
"""

from __future__ import annotations

from sync.crypto import KeyProblem

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


def sql_list(states: tuple[str, ...]) -> str:
    """A constant tuple of states as an SQL list (never from input)."""
    return ", ".join(f"'{state}'" for state in states)


def was_sent(state: str, first_sent_at: str | None) -> bool:
    """Whether a submission's request may have left: it is or was being sent."""
    return state in ("sending", "awaiting_id") or first_sent_at is not None
