"""Reading a store on PostgreSQL for the take-up report (the council's assist service keeps its store
there: `store.url`).

The report's SQL is SQLite's, run over a store attached as `store` (stores.py). A PostgreSQL store
cannot be attached, so the rows the report reads are fetched from it, from one snapshot, into an
in-memory SQLite database attached as `store` in its place, holding only the columns named in
`READ` and never one of a resident's (PERSONAL_COLUMNS); the report then runs unchanged. Times and
texts are fetched as they are stored and compared in SQLite, so both engines give the same figures.
"""

from __future__ import annotations

import sqlite3

from sync.reporting.model import ReportError, StoreRead
from sync.store import db as db_module
from sync.store import migrations
from sync.store.db import Database
from sync.store.errors import StoreError

#: The tables and columns the report reads (stores.py's SQL), and nothing else; `id` first.
READ = {
    "session_events": ("id", "session", "channel", "at", "event", "service_code", "language", "step", "assisted"),
    "submissions": ("id", "reference", "channel", "created_at", "accepted_at"),
}
BATCH_ROWS = 10_000


def attach_postgres(conn: sqlite3.Connection, url: str, label: str) -> StoreRead:
    """Fetch the report's rows of the PostgreSQL store at `url` into an in-memory database attached
    as `store`, and say what it holds; refuse a database that is not an assist store."""
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
        conn.execute("ATTACH DATABASE ':memory:' AS store")
        attached = True
        db.conn.execute("BEGIN")  # one snapshot of every table read
        db.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table, columns in READ.items():
            if table in tables:
                _fetch(db, conn, table, columns)
        db.conn.execute("ROLLBACK")
    except (sqlite3.DatabaseError, ReportError) as error:  # either engine's (postgres.py raises sqlite3's classes)
        if attached:
            conn.execute("DETACH DATABASE store")
        if isinstance(error, ReportError):
            raise
        raise ReportError(f"{label} could not be read to the end: {error}.") from None
    finally:
        db.close()
    return StoreRead(label, version, "session_events" in tables)


def _fetch(db: Database, conn: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> None:
    """Copy one table's report columns into `store.<table>`, a batch at a time in the order of its id."""
    listed = ", ".join(columns)
    # `id` as the row's own key, as in a SQLite store: the report looks rows up by it.
    conn.execute(f"CREATE TABLE store.{table} (id INTEGER PRIMARY KEY, {', '.join(columns[1:])})")
    insert = f"INSERT INTO store.{table} ({listed}) VALUES ({', '.join('?' * len(columns))})"
    after = -1
    while rows := db.conn.execute(f"SELECT {listed} FROM {table} WHERE id > ? ORDER BY id LIMIT {BATCH_ROWS}",
                                  (after,)).fetchall():
        conn.executemany(insert, rows)
        after = rows[-1][0]
