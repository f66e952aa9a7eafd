"""The local store: the outbox of residents' submissions and everything the channels and the
sync worker tell one another.

Every submission is saved here first, in one transaction with its first status row, and gets
its reference at that moment; only then is the resident told it is saved. The outbox is an
explicit state machine (states.py). A worker claims due submissions atomically with a lease
(claiming.py), writes `sending` *before* any request leaves, so an interrupted send is known to be
ambiguous and is reconciled, never blindly repeated, and records the outcome (sending.py).
Personal data is sealed with the store key and purged (retention.py). Channels never call out:
they read back-office reachability here and leave requests such as "sync now" for the worker
(backoffices.py).

`Store` (store.py) is composed of one part per concern; this package's names are the ones
callers import, re-exported here so none of them needs to know which module holds what.
"""

from sync.store.claiming import Claimed
from sync.store.history import Lookup, StatusEntry
from sync.store.saving import Saved
from sync.store.states import (
    ASSIST_CONSENTS,
    CHANNELS,
    CLAIMABLE,
    FINISHED,
    LONGEST_WAIT,
    PURGED_VOLUNTEER,
    STATES,
    TRANSITIONS,
    UNOPENABLE,
    UNOPENABLE_ERRORS,
    MaybeSent,
    TransitionError,
)
from sync.store.store import Store
from sync.store.times import iso, parse_iso, utcnow

__all__ = [
    "ASSIST_CONSENTS", "CHANNELS", "CLAIMABLE", "FINISHED", "LONGEST_WAIT", "PURGED_VOLUNTEER", "STATES",
    "TRANSITIONS", "UNOPENABLE", "UNOPENABLE_ERRORS", "Claimed", "Lookup", "MaybeSent", "Saved", "StatusEntry",
    "Store", "TransitionError", "iso", "parse_iso", "utcnow",
]
