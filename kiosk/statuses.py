"""What the kiosk says about a request's progress and about its own connection, in plain words.

Statuses come from two places: the outbox's own states (saved here, being sent, with the council)
and the council's Open311 statuses once it has the request. Both are read from the store, which
is what makes a status check work with the network cable out. Neither is ever alarming: a kiosk
that cannot reach the council is "keeping requests safe", not "offline!".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from locales import N_, NP_, Translator
from sync.store import CLAIMABLE, Lookup, parse_iso

#: The outbox's states, as a resident should read them.
LOCAL = {
    "queued": N_("Saved on this kiosk. It will be sent to the council as soon as there is a connection."),
    "sending": N_("Being sent to the council"),
    "awaiting_id": N_("Sent. Waiting for the council to confirm it has it"),
    "accepted": N_("The council has it"),
    "needs_attention": N_("Waiting for library or council staff to check it"),
    "cancelled": N_("Cancelled"),
    "exported": N_("Passed to the council by hand"),
    # residents' follow-ups (sync/store/followups.py)
    "not_fixed_sent": N_("You told us it is not fixed: sent to the council"),
    "comment_sent": N_("Your comment was sent to the council"),
    "followup_held": N_("Your follow-up is waiting for library or council staff to check it"),
}

#: Open311 and FixMyStreet statuses a council may report (see council/db.py).
COUNCIL = {
    "open": N_("Open: the council is dealing with it"),
    "in_progress": N_("In progress"),
    "planned": N_("Work is planned"),
    "action_scheduled": N_("Work has been scheduled"),
    "investigating": N_("The council is looking into it"),
    "for_triage": N_("Waiting to be looked at"),
    "reopen": N_("Opened again"),
    "closed": N_("Closed"),
    "fixed": N_("Fixed"),
    "duplicate": N_("Closed: someone else had already reported it"),
    "not_councils_responsibility": N_("Closed: this is not something the council looks after"),
    "no_further_action": N_("Closed: no further action"),
    "internal_referral": N_("Passed to another team"),
    "unable_to_fix": N_("Closed: the council could not fix it"),
    "cancelled": N_("Cancelled"),
}

WAITING = NP_("{count} request waiting to be sent", "{count} requests waiting to be sent")


def describe(status: str, t: Translator, *, council: bool) -> str:
    """One status in the resident's language. A council status we do not know is shown as the
    council wrote it, as plain words."""
    known = (COUNCIL if council else LOCAL).get(status)
    if known:
        return t(known)
    return status.replace("_", " ").strip().capitalize()


def current(lookup: Lookup, t: Translator) -> str:
    """The status that matters now: the council's, once it has one, else the outbox's."""
    if lookup.state == "accepted" and lookup.council_status:
        return describe(lookup.council_status, t, council=True)
    return describe(lookup.state, t, council=False)


def latest_notes(lookup: Lookup) -> str | None:
    """The council's most recent note, if it wrote any."""
    for entry in reversed(lookup.history):
        if entry.source == "council" and entry.notes:
            return entry.notes
    return None


@dataclass(frozen=True)
class Connection:
    """What the status line shows: read from the store, never from the network."""

    reachable: bool | None  # None: nobody has tried yet (no worker has run)
    checked_at: datetime | None
    waiting: int

    @classmethod
    def read(cls, store) -> "Connection":
        states = store.backoffice_states()
        counts = store.counts()
        waiting = sum(counts.get(state, 0) for state in CLAIMABLE)
        known = [state for state in states.values() if state.get("reachable") is not None]
        if not known:
            return cls(None, None, waiting)
        reachable = all(state["reachable"] for state in known)
        times = [parse_iso(state["checked_at"]) for state in known if state.get("checked_at")]
        return cls(reachable, max(times) if times else None, waiting)
