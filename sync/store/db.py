"""Opening the local SQLite file, and the few ways the store writes to it.

One file holds everything local. It is shared by several processes at once (on a kiosk, the
kiosk app and the sync worker), so it runs in WAL mode with a busy timeout, and with
`synchronous=FULL` because it holds residents' submissions on machines that are switched off at
the wall: a submission acknowledged to a resident must survive the power going. Only what a power
cut may lose (a page's take-up event) is committed without an fsync of its own (`relaxed`).

The connection is wrapped in `Database`, our own few lines: plain sqlite3 underneath, so opening
the store loads no third-party database library.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from sync.store import migrations
from sync.store.errors import StoreBusy as StoreBusy
from sync.store.errors import StoreError as StoreError
from sync.store.errors import StoreFull as StoreFull
from sync.store.errors import StoreTooNew as StoreTooNew
from sync.store.errors import StoreUnavailable as StoreUnavailable
from sync.store.errors import describe_error as describe_error
from sync.store.errors import translate_error as translate_error

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000

_T = TypeVar("_T")


class Database:
    """The store's SQLite connection (`conn`): every query goes through it, in plain sqlite3."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        self.conn.close()


def path_of(db: Database) -> str | None:
    """The store's file, for messages; None for one in memory or a connection past asking."""
    try:
        name: str = db.conn.execute("PRAGMA database_list").fetchone()[2]
    except sqlite3.Error:
        return None
    return name or None


def connect(path: str | Path, *, migrate: bool = True, busy_timeout_ms: int | None = None) -> Database:
    """Open (creating if need be) the store at `path` with the pragmas every process must share.

    Whatever goes wrong here (a full disk fails the WAL pragma with "disk I/O error", a damaged
    file says "file is not a database", a store from a newer version) comes out as a StoreError
    naming the file, and nothing is left open."""
    path = Path(path)
    timeout = BUSY_TIMEOUT_MS if busy_timeout_ms is None else busy_timeout_ms
    conn = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=timeout / 1000, isolation_level=None, check_same_thread=False)
        opened = conn
        _retry_busy(lambda: opened.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        # What is deleted or overwritten (a purged note, a resealed clear one) is zeroed in the file,
        # not left in free space for anyone with a copy of it to read.
        conn.execute("PRAGMA secure_delete = ON")
        db = Database(conn)
        if migrate:
            migrations.apply(db)
        return db
    except (sqlite3.Error, OSError, StoreError) as error:
        if conn is not None:
            conn.close()
        raise describe_error(error, path) from error


def _retry_busy(action: Callable[[], _T], attempts: int = 50) -> _T:
    """Switching to WAL needs a moment alone with the file; retry while another process has it."""
    for _ in range(attempts - 1):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if "locked" not in str(error):
                raise
            time.sleep(0.05)
    return action()


def flush_wal(db: Database) -> None:
    """Put what is committed on disk without taking any lock: fsync the write-ahead log. For a
    commit made with synchronous=NORMAL that must survive a power cut after all, when the write
    that would have carried the fsync could not be made (another process held the lock)."""
    path = db.conn.execute("PRAGMA database_list").fetchone()[2] + "-wal"
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def truncate_wal(db: Database) -> bool:
    """After personal data is purged: copy the write-ahead log into the file and cut the log to
    nothing, so no page holding it before the purge is left there (the file's own free space is
    zeroed by secure_delete). Returns False when another process's reader kept it from
    finishing; the next purge tries again."""
    busy: object
    try:
        busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as error:
        busy = error
    if busy:
        log.info("write-ahead log not cut after the purge (another process is reading); tried again at the next purge")
    return not busy


@contextmanager
def write(db: Database) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front (BEGIN IMMEDIATE) so it cannot deadlock half-way.

    Inside another write transaction it is a savepoint instead: several changes can share one
    commit (one fsync) while each still succeeds or fails whole. SQLite errors a person can act
    on come out as StoreBusy or StoreFull; what failed is rolled back, so nothing is ever
    half-written.
    """
    conn = db.conn
    if conn.in_transaction:
        with _savepoint(conn):
            yield conn
        return
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise (translate_error(error, path_of(db)) or error) from error
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException as error:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # SQLite rolls back itself after an I/O error; the first error is the one to tell
        if isinstance(error, sqlite3.Error) and (friendly := translate_error(error, path_of(db))):
            raise friendly from error
        raise


@contextmanager
def _savepoint(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("SAVEPOINT part")
    try:
        yield
        conn.execute("RELEASE part")
    except BaseException:
        conn.execute("ROLLBACK TO part")
        conn.execute("RELEASE part")
        raise


@contextmanager
def relaxed(db: Database) -> Iterator[None]:
    """Commits inside are made with synchronous=NORMAL, then the connection's own setting is back.

    In WAL mode such a commit is not fsynced by itself: the next FULL commit (or a checkpoint)
    puts it on disk, so a power cut can lose it, and only it. For what is worth less than the
    time an fsync takes (a kiosk page's take-up event), never for a submission. Inside a
    transaction it changes nothing: that commit belongs to someone else and keeps its setting.
    Each process uses its connection from one thread (the kiosk's and the webhook's event loop),
    so no other commit of this connection falls inside."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    before = int(conn.execute("PRAGMA synchronous").fetchone()[0])
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA synchronous = {before}")


def probe_write(db: Database, timeout_ms: int = 250) -> None:
    """Prove a write can be made now, and make none: a row written inside a transaction that is
    then rolled back. Waits at most `timeout_ms` for another writer (a health check must answer
    quickly, and the SMS webhook shares this connection's thread). Raises StoreError."""
    conn = db.conn
    if conn.in_transaction:
        return  # this connection is writing right now: that is proof enough
    waited = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("INSERT OR REPLACE INTO requests (name, requested_at) VALUES ('health probe', '')")
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.Error as error:
        raise describe_error(error, path_of(db)) from error
    finally:
        conn.execute(f"PRAGMA busy_timeout = {waited}")
