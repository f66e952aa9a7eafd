"""What crosses from a kiosk to the fleet service: the paths, the header naming the kiosk, and
the version of the event format.

The service (fleet/schema.py) checks every field against its schema and refuses one it does not
know, so what a kiosk may send is written down there once; this module holds what both sides
must agree on by name.
"""

from __future__ import annotations

import importlib.metadata

from sync.store import events

ENROL_PATH = "/fleet/enrol"
HEARTBEAT_PATH = "/fleet/heartbeat"
EVENTS_PATH = "/fleet/events"
#: The kiosk's device id beside its bearer token, so that a refused token is logged by the kiosk it
#: claimed to be (a token's hash names no one).
DEVICE_HEADER = "X-Assist-Device"

#: The event format's version, sent with every batch. A service meeting a newer one keeps what it
#: can read: an event of a kind it does not know is kept and counted as unknown.
FORMAT_VERSION = 1
#: The kind of a finished submission's record (channel, service, made, accepted: never its
#: reference or words); every other kind is a session event's (sync/store/events.py).
SUBMISSION = "submission"
KNOWN_KINDS = frozenset((*events.EVENTS, SUBMISSION))
#: The prefix of each kind's event id: session events and submissions are numbered apart.
SESSION_PREFIX, SUBMISSION_PREFIX = "e", "s"

#: The longest text in any field the service takes; a kiosk cuts what it sends to it.
MAX_TEXT = 300

#: The distribution whose version a heartbeat reports.
DISTRIBUTION = "assist-council-kiosk"


def software_version() -> str:
    """The installed assist's version, as a heartbeat reports it ("unknown" from a bare tree)."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
