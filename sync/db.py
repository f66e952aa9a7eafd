"""Opening the local SQLite file: pragmas, migrations and the errors a person can act on.

One file holds everything local. It is shared by several processes at once (on a kiosk, the
kiosk app and the sync worker), so it runs in WAL mode with a busy timeout, and with
`synchronous=FULL` because it holds residents' submissions on machines that are switched off at
the wall: a submission acknowledged to a resident must survive the power going.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from sync import migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """A store problem described for the person in front of the machine."""


class StoreBusy(StoreError):
    """Another process held the database for longer than the busy timeout."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full: nothing new can be saved."""


def translate_error(error: sqlite3.Error) -> StoreError | None:
    """Map SQLite's errors to the two a person can do something about, or None."""
    message = str(error).lower()
    if "locked" in message or "busy" in message:
        return StoreBusy("The local database is busy in another program; please try again in a moment.")
    if "disk is full" in message or getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return StoreFull("There is no room left to save on this machine. Nothing already saved has been lost.")
    return None


def connect(path: str | Path, *, migrate: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite_utils.Database:
    """Open (creating if need be) the store at `path` with the pragmas every process must share."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000, isolation_level=None, check_same_thread=False)
    _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    # What is deleted or overwritten (a purged note, a resealed clear one) is zeroed in the file,
    # not left in free space for anyone with a copy of it to read.
    conn.execute("PRAGMA secure_delete = ON")
    db = sqlite_utils.Database(conn)
    if migrate:
        migrations.apply(db)
    return db


def _retry_busy(action, attempts: int = 50):
    """Switching to WAL needs a moment alone with the file; retry while another process has it."""
    for attempt in range(attempts):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def flush_wal(db: sqlite_utils.Database) -> None:
    """Put what is committed on disk without taking any lock: fsync the write-ahead log. For a
    commit made with synchronous=NORMAL that must survive a power cut after all, when the write
    that would have carried the fsync could not be made (another process held the lock)."""
    path = db.conn.execute("PRAGMA database_list").fetchone()[2] + "-wal"
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def truncate_wal(db: sqlite_utils.Database) -> bool:
    """After personal data is purged: copy the write-ahead log into the file and cut the log to
    nothing, so no page holding it before the purge is left there (the file's own free space is
    zeroed by secure_delete). Returns False when another process's reader kept it from
    finishing; the next purge tries again."""
    try:
        busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as error:
        busy = error
    if busy:
        log.info("write-ahead log not cut after the purge (another process is reading); tried again at the next purge")
    return not busy


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front (BEGIN IMMEDIATE) so it cannot deadlock half-way.

    Inside another write transaction it is a savepoint instead: several changes can share one
    commit (one fsync) while each still succeeds or fails whole. SQLite errors a person can act
    on come out as StoreBusy or StoreFull; what failed is rolled back, so nothing is ever
    half-written.
    """
    conn = db.conn
    if conn.in_transaction:
        conn.execute("SAVEPOINT part")
        try:
            yield conn
            conn.execute("RELEASE part")
        except BaseException:
            conn.execute("ROLLBACK TO part")
            conn.execute("RELEASE part")
            raise
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        raise (translate_error(error) or error) from error
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(error, sqlite3.Error) and (friendly := translate_error(error)):
            raise friendly from error
        raise
