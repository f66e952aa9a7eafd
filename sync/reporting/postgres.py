"""Reading a store on PostgreSQL for the take-up report (the council's assist service keeps its store
there: `store.url`).

The report's SQL is SQLite's, run over a store attached as `store` (stores.py). A PostgreSQL store
cannot be attached, so the rows the report reads are fetched from it, from one snapshot, into an
in-memory SQLite database attached as `store` in its place, holding only the columns named in
`READ` and never one of a resident's (PERSONAL_COLUMNS); the report then runs unchanged. The
events kiosks sent the fleet service are fetched the same way, as `fleet` (`FLEET_READ`). Times and
texts are fetched as they are stored and compared in SQLite, so both engines give the same figures.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable, TypeVar

from sync.reporting.model import ReportError, StoreRead
from sync.store import db as db_module
from sync.store import migrations
from sync.store.db import Database
from sync.store.errors import StoreError

T = TypeVar("T")

#: The tables and columns the report reads (stores.py's SQL), and nothing else; `id` first.
READ = {
    "session_events": ("id", "session", "channel", "at", "event", "service_code", "language", "step", "assisted"),
    "submissions": ("id", "reference", "channel", "created_at", "accepted_at"),
}
#: What the report reads of the events kiosks sent the fleet service (kiosks.py): each row's keys,
#: kind, body (the fleet's schema: no personal field can be in it) and when it came. Never a token's
#: or a code's hash.
FLEET_READ = {"fleet_events": ("id", "device_id", "store_id", "event_id", "kind", "body", "received_at")}
#: And the kiosks' names and when each was last heard, a row a kiosk (table: (columns, query)); the
#: queries read the same from PostgreSQL (no `{prefix}`) and from the rows fetched (`fleet.`).
FLEET_SUMMARY = {
    "fleet_kiosks": (("device_id", "library"), "SELECT device_id, library FROM {prefix}fleet_kiosks"),
    "fleet_heartbeats": (("device_id", "received_at"),
                         "SELECT device_id, max(received_at) FROM {prefix}fleet_heartbeats GROUP BY device_id"),
}
BATCH_ROWS = 10_000


def attach_postgres(conn: sqlite3.Connection, url: str, label: str) -> StoreRead:
    """Fetch the report's rows of the PostgreSQL store at `url` into an in-memory database attached
    as `store`, and say what it holds; refuse a database that is not an assist store."""
    def fetch(db: Database, tables: set[str]) -> tuple[str | None, bool]:
        for table, columns in READ.items():
            if table in tables:
                _fetch(db, conn, "store", table, columns)
        return fleet_facts(db.conn, tables, prefix="")

    version, tables, (store_id, kiosk_events) = _snapshot(conn, url, label, "store", fetch)
    return StoreRead(label, version, "session_events" in tables, store_id=store_id, kiosk_events=kiosk_events)


def attach_fleet_postgres(conn: sqlite3.Connection, url: str, label: str) -> None:
    """Fetch the events kiosks sent the fleet service, their names and when each was last heard,
    from the council's PostgreSQL store at `url`, into an in-memory database attached as `fleet`."""
    def fetch(db: Database, tables: set[str]) -> None:
        for table, columns in FLEET_READ.items():
            _fetch(db, conn, "fleet", table, columns)
        for table, (named, query) in FLEET_SUMMARY.items():
            conn.execute(f"CREATE TABLE fleet.{table} ({', '.join(named)})")
            conn.executemany(f"INSERT INTO fleet.{table} VALUES ({', '.join('?' * len(named))})",
                             db.conn.execute(query.format(prefix="")).fetchall())

    _snapshot(conn, url, label, "fleet", fetch)


def fleet_facts(conn: sqlite3.Connection | Any, tables: set[str], prefix: str = "store.") -> tuple[str | None, bool]:
    """A store's random id, if its kiosk was ever enrolled with a fleet service (it names what the
    kiosk sent), and whether the store holds events kiosks sent (the council's store): the same
    queries on an attached SQLite store (`store.`) and on a PostgreSQL one (no prefix)."""
    row = conn.execute(f"SELECT store_id FROM {prefix}fleet_link").fetchone() if "fleet_link" in tables else None
    received = "fleet_events" in tables and bool(
        conn.execute(f"SELECT EXISTS (SELECT 1 FROM {prefix}fleet_events)").fetchone()[0])
    return (row[0] if row else None), received


def _snapshot(conn: sqlite3.Connection, url: str, label: str, schema: str,
              fetch: Callable[[Database, set[str]], T]) -> tuple[int, set[str], T]:
    """Attach an in-memory database as `schema` and `fetch` into it, from one snapshot of the
    PostgreSQL store at `url`: its schema version, its tables and what `fetch` said."""
    try:
        db = db_module.connect_postgres(url, migrate=False)
    except StoreError as error:
        raise ReportError(f"{label}: {error}") from None
    attached = False
    try:
        tables = migrations.tables(db)
        version = migrations.current_version(db)
        if not version or "submissions" not in tables:
            raise ReportError(f"{label} is a PostgreSQL database but not an assist store (it has no outbox).")
        conn.execute(f"ATTACH DATABASE ':memory:' AS {schema}")
        attached = True
        db.conn.execute("BEGIN")  # one snapshot of every table read
        db.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        fetched = fetch(db, tables)
        db.conn.execute("ROLLBACK")
    except (sqlite3.DatabaseError, ReportError) as error:  # either engine's (postgres.py raises sqlite3's classes)
        if attached:
            conn.execute(f"DETACH DATABASE {schema}")
        if isinstance(error, ReportError):
            raise
        raise ReportError(f"{label} could not be read to the end: {error}.") from None
    finally:
        db.close()
    return version, tables, fetched


def create(conn: sqlite3.Connection, schema: str, table: str, columns: tuple[str, ...]) -> None:
    """`schema.table` with `columns`, `id` first as the row's own key, as in a SQLite store: the
    report looks rows up by it."""
    conn.execute(f"CREATE TABLE {schema}.{table} (id INTEGER PRIMARY KEY, {', '.join(columns[1:])})")


def _fetch(db: Database, conn: sqlite3.Connection, schema: str, table: str, columns: tuple[str, ...]) -> None:
    """Copy one table's report columns into `schema.table`, a batch at a time in the order of its id."""
    listed = ", ".join(columns)
    create(conn, schema, table, columns)
    insert = f"INSERT INTO {schema}.{table} ({listed}) VALUES ({', '.join('?' * len(columns))})"
    after = -1
    while rows := db.conn.execute(f"SELECT {listed} FROM {table} WHERE id > ? ORDER BY id LIMIT {BATCH_ROWS}",
                                  (after,)).fetchall():
        conn.executemany(insert, rows)
        after = rows[-1][0]
