"""What goes wrong with the store, said so that the person in front of the machine can act on it.

SQLite names its failures for programmers ("disk I/O error", "database is locked"); the channels
and commands show these instead: busy (try again in a moment), full (nothing saved is lost), or
unavailable (naming the file, and what to do).
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path


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
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate is not None:  # PostgreSQL's (sync/store/postgres.py)
        return _translate_sqlstate(str(sqlstate), error, path)
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


#: PostgreSQL's SQLSTATEs for "wait and try again": lock not available (lock_timeout), deadlock,
#: serialisation failure, statement cancelled (statement_timeout).
_PG_BUSY = {"55P03", "40P01", "40001", "57014"}


def _translate_sqlstate(sqlstate: str, error: sqlite3.Error, where: str | Path | None) -> StoreError | None:
    """A PostgreSQL store's errors a person can act on: busy, full (disk_full, out of memory or
    too many connections are "no room" too), or unavailable (no connection, no such database, a
    refused password, a server shutting down), naming the database without its password."""
    if sqlstate in _PG_BUSY:
        return StoreBusy(_BUSY)
    if sqlstate in ("53100", "53200", "53300"):
        return StoreFull(_FULL) if sqlstate == "53100" else StoreBusy(_BUSY)
    if sqlstate[:2] in ("08", "28", "3D", "57", "58", "XX"):
        return describe_error(OSError(str(error)), where)
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
    if path is not None and "://" not in str(path) and _nearly_full(Path(path)):
        return StoreFull(_FULL)
    reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    if path is not None and "://" in str(path):  # a PostgreSQL store, named without its password
        return StoreUnavailable(f"The database {path} cannot be used ({reason}); check that the server is up and "
                                "reachable and the role may use the database.")
    where = f" {path}" if path is not None else ""
    return StoreUnavailable(f"The local database{where} cannot be used ({reason}); "
                            "check the disk and the file, or restore it from a backup.")


def _nearly_full(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    try:
        return shutil.disk_usage(folder).free < FULL_DISK_BYTES
    except OSError:
        return False
