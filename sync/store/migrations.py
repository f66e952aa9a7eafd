"""Numbered, forward-only schema migrations, recorded in the database itself.

Each migration (sync/store/schema.py) is a list of SQL statements applied in one transaction
together with its row in `schema_migrations`, so a power cut leaves the file either before or
after it, never half-way.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

from sync.store.errors import StoreTooNew
from sync.store.schema import MIGRATIONS as MIGRATIONS

if TYPE_CHECKING:  # sync.store.db applies the migrations as it opens a store
    from sync.store.db import Database

LATEST = max(number for number, _, _ in MIGRATIONS)


def current_version(db: Database) -> int:
    """The newest migration recorded in the file (0 for a new one); reads only, so that a
    store this version must refuse is left exactly as it was."""
    conn = db.conn
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").fetchone():
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def refuse_newer(db: Database) -> int:
    """The store's version, after making sure this version of assist understands it: a store
    migrated by a newer one raises StoreTooNew naming both numbers (going on would write rows
    the newer version's tables may not expect, and an operator rolling back an update must
    restore the backup taken before it instead)."""
    found = current_version(db)
    if found > LATEST:
        raise StoreTooNew(f"The local database was updated by a newer version of assist (schema version "
                          f"{found}; this version knows up to {LATEST}). Nothing was changed: run the newer "
                          "version, or restore the backup taken before the update.")
    return found


def apply(db: Database, target: int | None = None) -> list[int]:
    """Bring the schema up to `target` (default: the latest); returns the versions applied.

    Several processes may open a new file at once: each migration re-checks the version inside
    its own write transaction, so only one of them applies it. A store from a newer version is
    refused before anything is written (refuse_newer).
    """
    target = LATEST if target is None else target
    if refuse_newer(db) >= target:
        return []
    applied = []
    conn = db.conn
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                 "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
    for number, name, statements in MIGRATIONS:
        if number > target:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM schema_migrations WHERE version = ?", (number,)).fetchone():
                conn.execute("COMMIT")
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                         (number, name, datetime.now(timezone.utc).isoformat()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(number)
    return applied
