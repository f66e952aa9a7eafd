"""The kiosks' take-up read from the council's store: the session events and submission records each
kiosk sent the fleet service (fleet/events.py), read as if each kiosk's own store had been copied.

Each kiosk's rows are reshaped, one kiosk at a time, into an in-memory database attached as `store`
with a store's `session_events` and `submissions` columns (postgres.READ), and stores.fold reads it
with the same SQL as any store: the figures its own store would give, for the events it has sent
and the submissions it has finished (a request still waiting on a kiosk is sent once it is
accepted, cancelled or exported).

- Session ids are random per store; each is prefixed with its kiosk's device id and store id, so
  sessions stay apart across kiosks and across a kiosk's rebuilt stores.
- A submission's record carries no reference (none crosses); its key in the work database is its
  kiosk's device id, store id and event id, which name nobody.
- Events of kinds this version does not know count in no figure; how many came in the period (by
  when the service received them) is said in the report. A record that cannot be read (its body not
  JSON, or a session event without its session) is skipped and counted as `unreadable_record`,
  also by when it was received.
- A submission exported to a file (carried by hand) is counted by the store that imported the
  file, which sent it: the kiosk's record of it is left out, or it would count twice.
- A store also given as a file (`--store`; its fleet_link holds the same store id) is counted from
  the file, which has everything its kiosk sent and what it had not sent yet; its events through
  the fleet service are left out, and the report says so.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

from sync.fleet.formats import KNOWN_KINDS, SUBMISSION
from sync.reporting.model import Period, ReportError, StoreRead
from sync.reporting.postgres import FLEET_SUMMARY, READ, attach_fleet_postgres, create
from sync.reporting.stores import detach, fold
from sync.store import events

log = logging.getLogger(__name__)

_SESSION_KINDS = ", ".join(f"'{kind}'" for kind in events.EVENTS)
_KNOWN = ", ".join(f"'{kind}'" for kind in sorted(KNOWN_KINDS))
#: Whether a row's body can be read: JSON, with its session if it is a session event (NULL if not JSON).
_READABLE = f"CASE WHEN json_valid(body) THEN kind = '{SUBMISSION}' OR body ->> '$.session' IS NOT NULL END"
#: A submission carried away in an export file: the store that imported the file counts it, under
#: the reference this record does not carry (from store files, the two share it and are one).
_CARRIED = "(CASE WHEN json_valid(body) THEN body ->> '$.outcome' IS 'exported' ELSE 0 END)"
#: One kiosk's rows, less those of stores counted from their files.
_MINE = "device_id = :device AND store_id NOT IN (SELECT value FROM json_each(:counted))"

#: A kiosk's rows in a store's shape.
LOAD_SQL = (f"""
INSERT INTO store.session_events (id, session, channel, at, event, service_code, language, step, assisted)
SELECT id, device_id || '/' || store_id || '/' || (body ->> '$.session'), body ->> '$.channel', body ->> '$.at',
  kind, body ->> '$.service_code', body ->> '$.language', body ->> '$.step', coalesce(body ->> '$.assisted', 0)
FROM fleet.fleet_events WHERE {_MINE} AND kind IN ({_SESSION_KINDS}) AND {_READABLE}
""", f"""
INSERT INTO store.submissions (id, reference, channel, created_at, accepted_at)
SELECT id, device_id || '/' || store_id || '/' || event_id, body ->> '$.channel', body ->> '$.created_at',
  body ->> '$.accepted_at'
FROM fleet.fleet_events WHERE {_MINE} AND kind = '{SUBMISSION}' AND {_READABLE} AND NOT {_CARRIED}
""")
#: Of a kiosk's rows received in the period, those of kinds this version does not know, and those
#: that could not be read (of a known kind, yet not loaded: no JSON's parsing again).
COUNTS_SQL = f"""
SELECT coalesce(sum(kind NOT IN ({_KNOWN})), 0),
  coalesce(sum(kind IN ({_KNOWN}) AND NOT {_CARRIED}
               AND NOT EXISTS (SELECT 1 FROM store.session_events AS e WHERE e.id = f.id)
               AND NOT EXISTS (SELECT 1 FROM store.submissions AS s WHERE s.id = f.id)), 0)
FROM fleet.fleet_events AS f WHERE {_MINE} AND received_at >= :start AND received_at < :end
"""


def read_kiosks(conn: sqlite3.Connection, source: Path | str, label: str, period: Period,
                files: dict[str, str]) -> list[StoreRead]:
    """Every kiosk's take-up in the council's store at `source` (a SQLite file, or a PostgreSQL
    store's URL), each folded into the work database as a store of its own; `files` names the
    stores read from their files, by store id."""
    if isinstance(source, Path):
        conn.execute("ATTACH DATABASE ? AS fleet", (f"{source.resolve().as_uri()}?mode=ro",))
    else:
        attach_fleet_postgres(conn, source, label)
    try:
        libraries = dict(conn.execute(FLEET_SUMMARY["fleet_kiosks"][1].format(prefix="fleet.")).fetchall())
        heard = dict(conn.execute(FLEET_SUMMARY["fleet_heartbeats"][1].format(prefix="fleet.")).fetchall())
        devices = conn.execute("SELECT device_id, max(received_at) FROM fleet.fleet_events GROUP BY device_id "
                               "ORDER BY device_id").fetchall()
        return [_read_kiosk(conn, device, libraries.get(device), heard.get(device) or received, period, files)
                for device, received in devices]
    except sqlite3.DatabaseError as error:
        raise ReportError(f"{label}: the events kiosks sent could not be read to the end: {error}.") from None
    finally:
        conn.execute("DETACH DATABASE fleet")


def _read_kiosk(conn: sqlite3.Connection, device: str, library: str | None, heard: str | None, period: Period,
                files: dict[str, str]) -> StoreRead:
    name = f"{device} ({library})" if library else device
    read = StoreRead(f"{name}, through the fleet service", None, True, through_fleet=True, heard=heard)
    sent = [store_id for (store_id,) in conn.execute(
        "SELECT DISTINCT store_id FROM fleet.fleet_events WHERE device_id = ?", (device,))]
    counted = sorted(store_id for store_id in sent if store_id in files)
    read.counted_from = [files[store_id] for store_id in counted]
    values = {"device": device, "counted": json.dumps(counted), "start": period.start, "end": period.end}
    conn.execute("ATTACH DATABASE ':memory:' AS store")
    try:
        for table, columns in READ.items():
            create(conn, "store", table, columns)
        for sql in LOAD_SQL:
            conn.execute(sql, values)
        read.unknown, unreadable = conn.execute(COUNTS_SQL, values).fetchone()
    except sqlite3.DatabaseError:
        detach(conn)
        raise
    if unreadable:
        read.skipped["unreadable_record"] = unreadable
    fold(conn, read, period)
    if read.unknown:
        log.warning("%s: %d events of kinds this version does not know (not counted)", read.label, read.unknown)
    return read
