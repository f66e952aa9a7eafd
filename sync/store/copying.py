"""Copying a whole store to the other engine: a council moving its SQLite file to PostgreSQL, or back.

The destination is opened as every process opens a store (`db.connect`), so it is migrated to this
version's schema; the source must already be at that schema (it is read, never migrated, and a
newer one is refused), so that both have the same tables. Each table is copied in a fixed order,
parents before the rows that refer to them, in batches that are each one committed transaction,
read in the order of the table's primary key from one snapshot of the source. Rows go in as they
are: sealed values are bytes to this module, so no key is needed and the vault is never opened.

A copy interrupted (a crash, a lost connection, Ctrl-C) is resumed by running it again: the
destination then holds, table by table, a prefix of the source's rows, so a table keyed by an
integer goes on after the destination's largest key, and every row goes in with `ON CONFLICT DO
NOTHING`, so nothing is ever written twice. A destination holding anything else (another store's
submissions, another key) is refused. At the end each table's rows are counted on both sides.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from sync.settings import POSTGRES_URLS, SQLITE_URL, mask_url_password
from sync.store import db as db_module
from sync.store import keycheck, migrations
from sync.store.db import Database

BATCH_ROWS = 1000

#: Every table of the store, each before the tables that refer to it, with its primary key: the
#: order its rows are read in, and what makes a row copied twice a row skipped. The store's key
#: check comes first, so that a resumed copy is known to be of the same store from its first batch.
TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("store_key", ("id",)),
    ("key_rotation", ("id",)),
    ("submissions", ("id",)),
    ("status_history", ("id",)),
    ("outbox_events", ("id",)),
    ("resolutions", ("id",)),
    ("followups", ("id",)),
    ("followup_places", ("submission_id",)),
    ("followup_backoffices", ("name",)),
    ("backoffice_state", ("name",)),
    ("requests", ("name",)),
    ("catalogue_cache", ("id",)),
    ("sms_secrets", ("id",)),
    ("sms_numbers", ("id",)),
    ("sms_inbound", ("message_sid",)),
    ("sms_rate", ("scope", "bucket")),
    ("sms_conversations", ("number_id",)),
    ("sms_texts", ("id",)),
    ("sms_status_events", ("message_sid", "status")),
    ("volunteers", ("id",)),
    ("audit_log", ("id",)),
    ("session_events", ("id",)),
    ("fleet_link", ("id",)),
    ("fleet_sent_submissions", ("submission_id",)),
    ("fleet_kiosks", ("device_id",)),
    ("fleet_heartbeats", ("id",)),
    ("fleet_events", ("id",)),
    ("fleet_staff", ("name",)),
    ("fleet_sessions", ("id_hash",)),
    ("fleet_sso_sessions", ("id_hash",)),
    ("addresses", ("id",)),
    ("gazetteer_imports", ("id",)),
)
#: The one-row tables that make a store this store, and what differing means: a destination holding
#: other values than the source's holds another store (a copy resumed holds the same, or none yet).
IDENTITY = (("store_key", "check_value", "it is sealed with another key"),
            ("sms_secrets", "number_key", "it has another key for texters' numbers"))
#: Tables not copied: the destination records its own migrations as it is migrated, and SQLite's
#: full-text index of the gazetteer (with its shadow tables, `addresses_fts_*`) is rebuilt from
#: `addresses` on a SQLite destination.
NOT_COPIED = ("schema_migrations", "addresses_fts")


class CopyError(Exception):
    """A copy that cannot be made or did not come out whole, said in one line a person can act on."""


@dataclass
class Counted:
    """One table's rows in the source and in the destination once the copy is done."""

    table: str
    source: int
    destination: int


@dataclass
class Copied:
    """What a copy did: rows written now (not those a resumed copy found there), whether it was a
    resumed one, whether it ran to the end (`batches` stops it early), and the counts compared."""

    written: int = 0
    resumed: bool = False
    finished: bool = False
    counts: list[Counted] = field(default_factory=list)

    @property
    def differing(self) -> list[Counted]:
        return [count for count in self.counts if count.source != count.destination]


#: Told of each batch committed: (table, rows of it in the destination so far, rows in the source).
Progress = Callable[[str, int, int], None]


def store_location(url: str, option: str) -> str:
    """A store's URL as `db.connect` takes it (a SQLite file's path, or the PostgreSQL URL), or a
    CopyError naming the option and the two forms."""
    if url.startswith(SQLITE_URL) and len(url) > len(SQLITE_URL):
        return str(Path(url[len(SQLITE_URL):]).expanduser())
    if url.startswith(POSTGRES_URLS):
        return url
    raise CopyError(f"{option} {mask_url_password(url)!r} is not a store's URL: write sqlite:///PATH or "
                    "postgresql://USER@HOST/DATABASE.")


def copy_store(source_url: str, destination_url: str, *, progress: Progress | None = None,
               batch_rows: int = BATCH_ROWS, batches: int | None = None) -> Copied:
    """Copy the store at `source_url` into the one at `destination_url` (made and migrated if need
    be), or finish a copy interrupted; `batches` stops after that many (tests use it as a crash)."""
    source_at, destination_at = store_location(source_url, "--from"), store_location(destination_url, "--to")
    if _same(source_at, destination_at):
        raise CopyError("--from and --to name the same store: copy into another database or file.")
    if not source_at.startswith(POSTGRES_URLS) and not Path(source_at).is_file():
        raise CopyError(f"--from: there is no store at {source_at}.")
    source = _open_source(source_at)
    try:
        if not destination_at.startswith(POSTGRES_URLS):
            keycheck.create_private(Path(destination_at))
        destination = db_module.connect(destination_at)
        try:
            return _copy(source, destination, progress or (lambda table, done, total: None), batch_rows, batches)
        except sqlite3.Error as error:  # either engine's, as sqlite3's classes (sync/store/postgres.py)
            raise CopyError(f"The copy stopped: {error}. What was copied is kept: once that is put right, "
                            "run the same command again to go on.") from error
        finally:
            destination.close()
    finally:
        source.close()


def _same(first: str, second: str) -> bool:
    if first.startswith(POSTGRES_URLS) or second.startswith(POSTGRES_URLS):
        return first == second
    return Path(first).resolve() == Path(second).resolve()


def _open_source(where: str) -> Database:
    """The source, unmigrated, once it is known to be at this version's schema."""
    source = db_module.connect(where, migrate=False)
    try:
        version = migrations.refuse_newer(source)
        if version == 0:
            raise CopyError(f"--from: {source.where or where} is not an assist store (it has no schema version).")
        if version < migrations.LATEST:
            raise CopyError(f"--from: the store is at schema version {version} and this version of assist copies "
                            f"version {migrations.LATEST}: open it once with this version (any `assist` command "
                            "that uses the store, such as `assist outbox list`, migrates it), then copy.")
        if source.conn.execute("SELECT 1 FROM key_rotation").fetchone():
            # Its progress counts rows by the source's own row numbers, which a copy does not keep.
            raise CopyError("--from: a key rotation is under way in this store: finish it first (run "
                            "`assist store rotate-key` again with the same --new-key-file), then copy.")
    except BaseException:
        source.close()
        raise
    return source


def _copy(source: Database, destination: Database, progress: Progress, batch_rows: int,
          batches: int | None) -> Copied:
    copied = Copied(resumed=_judge_destination(source, destination))
    # One snapshot of the source for the whole copy: a row changed meanwhile is not half-copied.
    source.conn.execute("BEGIN")
    if source.on_postgres:
        source.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    try:
        for table, key in TABLES:
            columns = _shared_columns(source, destination, table)
            written, batches = _copy_table(source, destination, table, key, columns, progress, batch_rows, batches)
            copied.written += written
            if batches == 0:
                return copied
        _finish(destination)
        copied.counts = [Counted(table, _count(source, table), _count(destination, table)) for table, _ in TABLES]
    finally:
        if source.conn.in_transaction:  # a snapshot only: nothing was written to the source
            source.conn.execute("ROLLBACK")
    copied.finished = True
    return copied


def _judge_destination(source: Database, destination: Database) -> bool:
    """Whether the destination already holds part of this very copy (True), or nothing (False);
    a CopyError if it holds anything else: rows of another store must not be mixed with these."""
    if not any(_count(destination, table) for table, _ in TABLES):
        return False
    refused = ("--to already holds a store that is not this one ({}): copy into a new, empty database, "
               "or remove what it holds.")
    for table, column, differs in IDENTITY:
        if _value(destination, table, column) not in (None, _value(source, table, column)):
            raise CopyError(refused.format(differs))
    for table, _ in TABLES:
        if _count(destination, table) > _count(source, table):
            raise CopyError(refused.format(f"it has more rows in {table}"))
    theirs = dict(destination.conn.execute("SELECT id, reference FROM submissions").fetchall())
    numbers = sorted(theirs)
    for first in range(0, len(numbers), BATCH_ROWS):
        ids = numbers[first:first + BATCH_ROWS]
        ours = dict(source.conn.execute(f"SELECT id, reference FROM submissions WHERE id IN "
                                        f"({', '.join('?' * len(ids))})", ids).fetchall())
        if any(ours.get(number) != theirs[number] for number in ids):
            raise CopyError(refused.format("it has submissions this store does not"))
    return True


def _value(db: Database, table: str, column: str) -> Any:
    row = db.conn.execute(f"SELECT {column} FROM {table}").fetchone()
    return None if row is None else row[0]


def _shared_columns(source: Database, destination: Database, table: str) -> list[str]:
    """The table's columns on both sides, in the source's order (a PostgreSQL store's `sms_inbound`
    has a `rowid` of its own, made afresh by the destination)."""
    theirs = set(_columns(destination, table))
    return [column for column in _columns(source, table) if column in theirs]


def _columns(db: Database, table: str) -> list[str]:
    if db.on_postgres:
        rows = db.conn.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                               "current_schema() AND table_name = ? ORDER BY ordinal_position", (table,)).fetchall()
        return [str(name) for (name,) in rows]
    return [str(row[1]) for row in db.conn.execute(f"PRAGMA table_info({table})").fetchall()]


def _copy_table(source: Database, destination: Database, table: str, key: tuple[str, ...], columns: list[str],
                progress: Progress, batch_rows: int, batches: int | None) -> tuple[int, int | None]:
    """Copy one table's rows the destination lacks, a committed batch at a time; (rows written,
    batches still allowed)."""
    listed, order = ", ".join(columns), ", ".join(key)
    insert = (f"INSERT INTO {table} ({listed}) VALUES ({', '.join('?' * len(columns))}) "
              f"ON CONFLICT DO NOTHING")
    positions = [columns.index(column) for column in key]
    after = _resume_after(destination, table, key)
    total, there, written = _count(source, table), _count(destination, table), 0
    while batches != 0:
        where = f"WHERE ({order}) > ({', '.join('?' * len(key))}) " if after is not None else ""
        rows: Sequence[Any] = source.conn.execute(f"SELECT {listed} FROM {table} {where}ORDER BY {order} "
                                                  f"LIMIT {int(batch_rows)}", after or ()).fetchall()
        if not rows:
            break
        with db_module.write(destination) as conn:
            written += max(conn.executemany(insert, [tuple(row) for row in rows]).rowcount, 0)
        after = tuple(rows[-1][position] for position in positions)
        batches = None if batches is None else batches - 1
        progress(table, there + written, total)
    return written, batches


def _resume_after(destination: Database, table: str, key: tuple[str, ...]) -> tuple[Any, ...] | None:
    """Where a resumed copy of a table goes on: after the destination's largest key, for a table
    keyed by one integer (which both engines order alike); from the start for the others (text keys
    may sort differently on the two engines), whose rows already there are skipped as conflicts."""
    if len(key) != 1 or key[0] not in ("id", "number_id", "submission_id"):
        return None
    largest = destination.conn.execute(f"SELECT max({key[0]}) FROM {table}").fetchone()[0]
    return None if largest is None else (largest,)


def _finish(destination: Database) -> None:
    """What the destination's engine keeps beside the rows: PostgreSQL's identity sequences set past
    the ids copied in (else its next submission would take an id already used); SQLite's full-text
    index of the gazetteer built again."""
    with db_module.write(destination) as conn:
        if destination.on_postgres:
            identities = conn.execute("SELECT table_name, column_name FROM information_schema.columns "
                                      "WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall()
            for table, column in identities:
                conn.execute(f"SELECT setval(pg_get_serial_sequence(?, ?), max({column})) FROM {table} "
                             f"HAVING max({column}) IS NOT NULL", (table, column))
        else:
            conn.execute("INSERT INTO addresses_fts (addresses_fts) VALUES ('rebuild')")


def _count(db: Database, table: str) -> int:
    return int(db.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


