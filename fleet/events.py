"""Take-up events and submission records from the kiosks, each kept once.

(device, store id, event id) is unique: a batch sent again (its answer lost) adds nothing, and a
rebuilt kiosk store, numbering its events from 1 again under a new random store id, is not taken
for a replay. A kind this version does not know is kept and counted as unknown, so a kiosk
upgraded first loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleet.schema import EVENTS, Invalid, check
from sync.fleet.formats import KNOWN_KINDS
from sync.store import db as db_module
from sync.store.db import Database
from sync.store.times import iso

_KEYS = ("store_id", "event_id", "kind")


@dataclass(frozen=True)
class Received:
    stored: int
    duplicates: int
    unknown: int

    def as_dict(self) -> dict[str, int]:
        return {"stored": self.stored, "duplicates": self.duplicates, "unknown": self.unknown}


def record(db: Database, device_id: str, body: Any, now: datetime) -> Received:
    """Keep a batch from `device_id`, whole or not at all (Invalid, with the reason, for a batch
    with anything outside the schema)."""
    check(body, EVENTS, "batch")
    if body["version"] < 1:
        raise Invalid("batch.version: expected the event format's version (1 or more)")
    stored = unknown = 0
    with db_module.write(db) as conn:
        for item in body["events"]:
            known = item["kind"] in KNOWN_KINDS
            rest = {name: value for name, value in item.items() if name not in _KEYS and value is not None}
            added = conn.execute(
                "INSERT INTO fleet_events (device_id, store_id, event_id, kind, known, version, body, received_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, store_id, event_id) DO NOTHING",
                (device_id, item["store_id"], item["event_id"], item["kind"], int(known), body["version"],
                 json.dumps(rest, sort_keys=True), iso(now))).rowcount
            stored += added
            unknown += added and not known
    return Received(stored, len(body["events"]) - stored, unknown)


def counts(db: Database, device_id: str) -> dict[str, int]:
    """How many events a kiosk has sent, and how many of kinds this version does not know."""
    total, unknown = db.conn.execute("SELECT count(*), coalesce(sum(1 - known), 0) FROM fleet_events "
                                     "WHERE device_id = ?", (device_id,)).fetchone()
    return {"events": int(total), "unknown": int(unknown)}
