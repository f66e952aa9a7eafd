"""Opening the local SQLite file: pragmas, migrations and the errors a person can act on.

One file holds everything local. It is shared by several processes at once (on a kiosk, the
kiosk app and the sync worker), so it runs in WAL mode with a busy timeout, and with
`synchronous=FULL` because it holds residents' submissions on machines that are switched off at
the wall: a submission acknowledged to a resident must survive the power going.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils

from sync.store import migrations

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """A store problem described for the person in front of the machine."""


class StoreBusy(StoreError):
    """Another process held the database for longer than the busy timeout."""


class StoreFull(StoreError):
    """The disk (or the database's size limit) is full: nothing new can be saved."""


class StoreUnavailable(StoreError):
    """The store cannot be opened or read at all: a damaged file, a disk that fails, no access."""


class StoreTooNew(StoreUnavailable):
    """The store was migrated by a newer version of assist than this one: it is left untouched,
    since this version would not know what the newer tables mean."""


#: Below this much free space an I/O error while opening the store is taken to be a full disk:
#: SQLite says only "disk I/O error" when it cannot create the WAL's shared-memory file.
FULL_DISK_BYTES = 1024 * 1024

_FULL = "There is no room left to save on this machine. Nothing already saved has been lost."
_BUSY = "The local database is busy in another program; please try again in a moment."


#: SQLite's primary result codes that mean the file itself cannot be used (as opposed to a
#: constraint or a bug in a statement): I/O error, damaged, not a database, cannot open, read-only.
_UNUSABLE = {sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CANTOPEN,
             sqlite3.SQLITE_READONLY}


def translate_error(error: sqlite3.Error, path: str | Path | None = None) -> StoreError | None:
    """SQLite's errors a person can do something about as StoreBusy, StoreFull or StoreUnavailable;
    None for the rest (a constraint, a statement's bug), which callers handle or let show.

    On a full disk SQLite often says only "disk I/O error" (it could not grow the WAL's shared
    memory file): with `path`, an I/O error on a disk with (almost) no room is StoreFull."""
    message = str(error).lower()
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if code is not None else None
    if "locked" in message or "busy" in message:
        return StoreBusy(_BUSY)
    if "disk is full" in message or primary == sqlite3.SQLITE_FULL:
        return StoreFull(_FULL)
    if primary in _UNUSABLE or any(words in message for words in (
            "disk i/o error", "not a database", "malformed", "unable to open", "readonly")):
        return describe_error(OSError(str(error)), path)
    return None


def describe_error(error: BaseException, path: str | Path | None = None) -> StoreError:
    """Any SQLite or OS error met opening or using the store, as the StoreError a person can act
    on: busy, full (also when the disk the store is on has no room, whatever SQLite called it),
    or unavailable, naming the file. Never None, so callers at the top can always say one line."""
    if isinstance(error, StoreError):
        return error
    if isinstance(error, sqlite3.Error) and (friendly := translate_error(error, path)):
        return friendly
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return StoreFull(_FULL)
    if path is not None and _nearly_full(Path(path)):
        return StoreFull(_FULL)
    where = f" {path}" if path is not None else ""
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return StoreUnavailable(f"The local database{where} cannot be used ({reason}); "
                            "check the disk and the file, or restore it from a backup.")


def path_of(db: sqlite_utils.Database) -> str | None:
    """The store's file, for messages; None for one in memory or a connection past asking."""
    try:
        return db.conn.execute("PRAGMA database_list").fetchone()[2] or None
    except sqlite3.Error:
        return None


def _nearly_full(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False


def connect(path: str | Path, *, migrate: bool = True, busy_timeout_ms: int | None = None) -> sqlite_utils.Database:
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
    except (sqlite3.Error, OSError, StoreError) as error:
        if conn is not None:
            conn.close()
        raise describe_error(error, path) from error


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


def probe_write(db: sqlite_utils.Database, timeout_ms: int = 250) -> None:
    """Prove a write can be made now, and make none: a row written inside a transaction that is
    then rolled back. Waits at most `timeout_ms` for another writer (a health check must answer
    quickly, and the SMS webhook shares this connection's thread). Raises StoreError."""
    conn = db.conn
    if conn.in_transaction:
        return  # this connection is writing right now: that is proof enough
    waited = conn.execute("PRAGMA busy_timeout").fetchone()[0]
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
        conn.execute(f"PRAGMA busy_timeout = {int(waited)}")
