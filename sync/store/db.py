"""Opening the store (a local SQLite file, or a PostgreSQL database), and the few ways it is written.

One file holds everything local. It is shared by several processes at once (on a kiosk, the
kiosk app and the sync worker), so it runs in WAL mode with a busy timeout, and with
`synchronous=FULL` because it holds residents' submissions on machines that are switched off at
the wall: a submission acknowledged to a resident must survive the power going. Only what a power
cut may lose (a page's take-up event) is committed without an fsync of its own (`relaxed`).

The connection is wrapped in `Database`, our own few lines: plain sqlite3 underneath, so opening
a kiosk's store loads no third-party database library. The council's assist service, run as
several processes, may keep its store in PostgreSQL instead (`store.url`): then `conn` is
sync/store/postgres.py's connection, which speaks the same few methods, and the functions below
do on PostgreSQL what they do on SQLite, or say why there is nothing to do.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol, Sequence, TypeVar

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


class Rows(Protocol):
    """What the store asks of a cursor."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Conn(Protocol):
    """What the store asks of a connection: sqlite3's, or sync/store/postgres.py's on PostgreSQL."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] = ..., /) -> Rows: ...

    def executemany(self, sql: str, rows: Any, /) -> Rows: ...

    def close(self) -> None: ...


class Database:
    """The store's connection (`conn`): every query goes through it. `engine` is "sqlite" or
    "postgresql"; `where` names the store for messages (a file, or a URL without its password)."""

    def __init__(self, conn: Conn, engine: str = "sqlite", where: str | None = None,
                 places: Callable[[], Database] | None = None) -> None:
        self.conn = conn
        self.engine = engine
        self.where = where
        self._places = places
        self._places_db: Database | None = None

    @property
    def places(self) -> Database:
        """Where the gazetteer's addresses are: this SQLite store itself, or, for a store on
        PostgreSQL, a SQLite file of its own beside the server (`store.gazetteer_path`: read-only
        reference data searched with FTS5, bench/bench_gazetteer_engines.py says why)."""
        if self._places is None:
            return self
        if self._places_db is None:
            self._places_db = self._places()
        return self._places_db

    @property
    def on_postgres(self) -> bool:
        return self.engine == "postgresql"

    def close(self) -> None:
        if self._places_db is not None:
            self._places_db.close()
        self.conn.close()


def path_of(db: Database) -> str | None:
    """The store's file (or masked URL), for messages; None for one in memory or a connection past asking."""
    if db.on_postgres or not isinstance(db.conn, sqlite3.Connection):
        return db.where
    try:
        name: str = db.conn.execute("PRAGMA database_list").fetchone()[2]
    except sqlite3.Error:
        return None
    return name or None


def connect(path: str | Path, *, migrate: bool = True, busy_timeout_ms: int | None = None) -> Database:
    """Open (creating if need be) the store at `path` with the pragmas every process must share;
    a `postgresql://` URL opens that database instead (connect_postgres).

    Whatever goes wrong here (a full disk fails the WAL pragma with "disk I/O error", a damaged
    file says "file is not a database", a store from a newer version) comes out as a StoreError
    naming the file, and nothing is left open."""
    if str(path).startswith(("postgresql://", "postgres://")):
        return connect_postgres(str(path), migrate=migrate)
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


def connect_postgres(url: str, *, migrate: bool = True, places: Path | None = None) -> Database:
    """Open the PostgreSQL store at `url` (its database and role made beforehand: README), migrating
    it. Errors come out as a StoreError naming the database, never its password. `places` is the
    SQLite file of its gazetteer (Database.places), opened when first searched."""
    from sync.config import mask_url_password
    from sync.store import postgres

    where = mask_url_password(url)
    db = None
    try:
        db = Database(postgres.connect(url), "postgresql", where,
                      places=(lambda: connect(places)) if places is not None else None)
        if migrate:
            migrations.apply(db)
        return db
    except (sqlite3.Error, StoreError) as error:
        if db is not None:
            db.close()
        raise describe_error(error, where) from error


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
    that would have carried the fsync could not be made (another process held the lock).
    PostgreSQL's commits are made durable by the server: nothing to do."""
    if db.on_postgres:
        return
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
    finishing; the next purge tries again. On PostgreSQL the server recycles its own log and the
    database's operators keep its backups: nothing here to cut."""
    if db.on_postgres:
        return True
    busy: object
    try:
        busy, _, _ = db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as error:
        busy = error
    if busy:
        log.info("write-ahead log not cut after the purge (another process is reading); tried again at the next purge")
    return not busy


@contextmanager
def write(db: Database, *, exclusive: bool = True) -> Iterator[Conn]:
    """One write transaction, taken up front (BEGIN IMMEDIATE) so it cannot deadlock half-way.

    Inside another write transaction it is a savepoint instead: several changes can share one
    commit (one fsync) while each still succeeds or fails whole. SQLite errors a person can act
    on come out as StoreBusy or StoreFull; what failed is rolled back, so nothing is ever
    half-written.

    On PostgreSQL the transaction takes the store's write lock (sync/store/postgres.py), so the
    logic written for one writer at a time holds across processes; `exclusive=False` is for the
    few paths that lock only the rows they touch (claims with SKIP LOCKED, a number's texts),
    so that several processes write side by side. SQLite has one writer whatever is asked.
    """
    conn = db.conn
    if conn.in_transaction:
        with _savepoint(conn):
            yield conn
        return
    try:
        conn.execute("BEGIN IMMEDIATE" if exclusive or not db.on_postgres else "BEGIN")
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
def _savepoint(conn: Conn) -> Iterator[None]:
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
    so no other commit of this connection falls inside. On PostgreSQL, `synchronous_commit = off`
    for those commits is the same bargain: the server may lose the last few after a crash, never
    corrupt anything."""
    conn = db.conn
    if conn.in_transaction:
        yield
        return
    if db.on_postgres:
        conn.execute("SET synchronous_commit = off")
        try:
            yield
        finally:
            conn.execute("SET synchronous_commit = on")
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
    if db.on_postgres:
        _probe_postgres(db, timeout_ms)
        return
    waited = int(conn.execute("PRAGMA busy_timeout").fetchone()[0])
    conn.execute(f"PRAGMA busy_timeout = {int(timeout_ms)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_PROBE)
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.Error as error:
        raise describe_error(error, path_of(db)) from error
    finally:
        conn.execute(f"PRAGMA busy_timeout = {waited}")


_PROBE = ("INSERT INTO requests (name, requested_at) VALUES ('health probe', '') "
          "ON CONFLICT (name) DO UPDATE SET requested_at = excluded.requested_at")


def _probe_postgres(db: Database, timeout_ms: int) -> None:
    """probe_write on PostgreSQL: the same rolled-back row, under the store's write lock, with a
    short lock timeout; it proves the server answers, the role may write, and no writer is stuck."""
    from sync.store.postgres import WRITE_LOCK

    conn = db.conn
    try:
        conn.execute("BEGIN")
        try:
            conn.execute(f"SET LOCAL lock_timeout = {int(timeout_ms)}")
            conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK,))
            conn.execute(_PROBE)
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.Error as error:
        raise describe_error(error, path_of(db)) from error


def set_synchronous(db: Database, full: bool) -> None:
    """Whether this connection's commits wait for the disk: SQLite's synchronous=FULL or NORMAL,
    PostgreSQL's synchronous_commit on or off (either way, a crash can lose only the last few
    commits made without it, never corrupt anything)."""
    if db.on_postgres:
        db.conn.execute(f"SET synchronous_commit = {'on' if full else 'off'}")
    else:
        db.conn.execute(f"PRAGMA synchronous = {'FULL' if full else 'NORMAL'}")


def lock_keys(db: Database, keys: Iterable[str]) -> None:
    """On PostgreSQL, hold a transaction-scoped advisory lock on each key (a number's keyed hash)
    until the transaction ends, taken in order; on SQLite the write transaction already holds
    the whole file."""
    if not db.on_postgres:
        return
    for key in sorted(set(keys)):
        db.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))
