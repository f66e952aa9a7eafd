"""Key custody: which key a store may be opened with, and the one place that decides it.

A store sealed under two keys is worse than one under none: a worker cannot send it with either.
So a store records its key's check value (sync/crypto.py `check_value`, never the key) and every
process is held to it: another key is refused with one line naming where it came from; a missing
key file is never replaced while the store holds anything sealed; the first time this version
opens an existing store it opens a sample of what is sealed before it records the key, so a
store already forked is refused rather than blessed. `verify` is the cheap check for long-running
services (/healthz): one row read and a string compared.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from sync.config import Settings
from sync.crypto import KeyProblem, Vault, check_value, create_key_file, key_from_text, read_key_file
from sync.store import db as db_module
from sync.store import migrations
from sync.store.db import Database

if TYPE_CHECKING:  # the Store opens its vault here
    from sync.store.store import Store

log = logging.getLogger(__name__)

#: Every sealed column: (table, the column that orders its rows, sealed columns). A migration that
#: adds a sealed column adds it here, so that key checks and rotations see it.
SEALED: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("submissions", "id", ("payload", "contact", "notify_phone")),
    ("followups", "id", ("comment", "original")),
    ("followup_places", "submission_id", ("original",)),
    ("sms_secrets", "id", ("number_key",)),
    ("sms_numbers", "id", ("number",)),
    ("sms_inbound", "rowid", ("reply",)),
    ("sms_conversations", "number_id", ("state",)),
    ("sms_texts", "id", ("body",)),
    ("status_history", "id", ("notes_sealed",)),
    ("fleet_link", "id", ("token",)),
)

#: Values taken from each end of each sealed column by the first check of an existing store: the
#: oldest and the newest, where a store forked by a replaced key differs.
SAMPLE_EACH_END = 5


@dataclass(frozen=True)
class Recorded:
    check: str | None
    previous: str | None
    rotated_at: str | None
    rotation_check: str | None
    rotation_file: str | None


def open_vault(db: Database, settings: Settings, *, record: bool = True) -> Vault:
    """The vault for this store, or KeyProblem. With `record=False` (`assist store check`) nothing
    is written: no key file is made and no check value recorded."""
    recorded = _recorded(db)
    key, where = _load_key(db, settings, recorded, may_create=record)
    mine = check_value(key)
    if recorded.check is None:
        _open_sample(db, Vault(key), where)
        if not record:
            return Vault(key, where=where)
        recorded = _record(db, mine)
    if mine != recorded.check:
        store = settings.store_name
        if mine == recorded.previous:
            raise KeyProblem(f"{where} holds the key {store} used before its key was rotated ({recorded.rotated_at}): "
                             "give assist the new key (store.key_file, or the store_key credential)")
        if mine == recorded.rotation_check:
            raise KeyProblem(f"{where} holds the new key of a rotation not yet finished: keep the old key in force "
                             f"and finish it with `assist store rotate-key --new-key-file {recorded.rotation_file}`")
        raise KeyProblem(f"{where} does not hold the key {store} was sealed with: restore the store's own key file "
                         "from its backup, or set store.key_file to it")
    if recorded.rotation_check is None or recorded.rotation_file is None:  # both or neither (key_rotation)
        return Vault(key, where=where)
    new_file = Path(recorded.rotation_file)
    try:
        new_key = read_key_file(new_file, allow_shared=settings.store.allow_shared_key_file)
    except FileNotFoundError:
        raise KeyProblem(f"{new_file} (the new key of a rotation under way) is missing: put it back and finish "
                         f"with `assist store rotate-key --new-key-file {new_file}`") from None
    if check_value(new_key) != recorded.rotation_check:
        raise KeyProblem(f"{new_file} is not the new key this store's rotation began with: put that one back and "
                         f"finish with `assist store rotate-key --new-key-file {new_file}`")
    return Vault(key, where=where).rotating_to(new_key, where)


def create_private(path: Path) -> None:
    """Make a new store file readable by its owner only (SQLite gives its -wal and -shm files the
    same mode); an existing one is left as it is (`assist store check` reports its mode)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process made it first


def verify(store: Store) -> None:
    """Raise KeyProblem unless the store's recorded key is one this process's vault opens with:
    another process may have rotated the key or the store file been replaced under it. Cheap
    (one row), for /healthz and the worker's loop."""
    try:
        row = store.db.conn.execute("SELECT check_value FROM store_key WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        row = None
    if row is None or row[0] not in store.vault.checks:
        raise KeyProblem(f"{store.vault.where} no longer matches the store's key (rotated, or the store replaced): "
                         "restart with the store's key in force")


def holds_sealed(db: Database) -> bool:
    """Whether anything in the store is sealed, so that a missing key must not be replaced."""
    return any(db.conn.execute(f"SELECT 1 FROM {table} WHERE {column} IS NOT NULL LIMIT 1").fetchone()
               for table, _order, columns in present(db) for column in columns)


def present(db: Database) -> list[tuple[str, str, tuple[str, ...]]]:
    """The SEALED tables this store has (one not yet migrated may lack some)."""
    tables = migrations.tables(db)
    return [entry for entry in SEALED if entry[0] in tables]


def sealed_values(db: Database, table: str, order: str, columns: tuple[str, ...], *,
                  after: int = 0, limit: int = 500) -> list[tuple[int, str, bytes]]:
    """(row id, column, sealed value) of up to `limit` rows after `after`, in order."""
    listed = ", ".join(columns)
    rows = db.conn.execute(f"SELECT {order}, {listed} FROM {table} WHERE {order} > ? ORDER BY {order} LIMIT ?",
                           (after, limit)).fetchall()
    return [(row[0], column, value) for row in rows for column, value in zip(columns, row[1:]) if value is not None]


def _recorded(db: Database) -> Recorded:
    try:
        row = db.conn.execute("SELECT check_value, previous_check, rotated_at FROM store_key WHERE id = 1").fetchone()
        rotation = db.conn.execute("SELECT new_check, new_key_file FROM key_rotation WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a store not yet migrated (only `assist store check` opens one)
        row = rotation = None
    return Recorded(*(row or (None, None, None)), *(rotation or (None, None)))


def _load_key(db: Database, settings: Settings, recorded: Recorded, *,
              may_create: bool) -> tuple[bytes, str]:
    if settings.store.key:
        where = f"store.key (from {settings.sources.get('store.key', 'settings')})"
        return key_from_text(settings.store.key, where), where
    path = settings.key_path
    try:
        return read_key_file(path, allow_shared=settings.store.allow_shared_key_file), str(path)
    except FileNotFoundError:
        pass
    if recorded.check is not None or holds_sealed(db):
        raise KeyProblem(f"{path} is missing and {settings.store_name} holds data sealed with it: restore the key "
                         "file from its backup (or set store.key_file to where it is); no new key is made")
    if not may_create:
        raise KeyProblem(f"{path} is missing (it is made when the store is first used)")
    return create_key_file(path), str(path)


def _open_sample(db: Database, vault: Vault, where: str) -> None:
    """Refuse a key that does not open what the store already holds. One damaged value in ten
    is tolerated (that is the quarantine's to report); more means another key sealed them."""
    opened = failed = 0
    for table, order, columns in present(db):
        for column in columns:
            end = f"SELECT {order}, {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {order}"
            for _id, value in db.conn.execute(f"SELECT * FROM ({end} LIMIT {SAMPLE_EACH_END}) AS first UNION "
                                              f"SELECT * FROM ({end} DESC LIMIT {SAMPLE_EACH_END}) AS last"):
                try:
                    vault.open_bytes(value)
                    opened += 1
                except KeyProblem:
                    failed += 1
    if failed and (not opened or failed * 10 > opened + failed):
        raise KeyProblem(f"{where} does not open {failed} of {opened + failed} sealed values sampled from the store "
                         "(sealed with another key): restore the store's own key file from its backup, "
                         "or set store.key_file to it")
    if failed:
        log.warning("key check: %d of %d sampled sealed values are damaged; recording the key", failed, opened + failed)


def _record(db: Database, check: str) -> Recorded:
    """Record the key's check value, unless another process just did (then theirs is compared)."""
    with db_module.write(db) as conn:
        conn.execute("INSERT INTO store_key (id, check_value, recorded_at) VALUES (1, ?, ?) "
                     "ON CONFLICT (id) DO NOTHING", (check, datetime.now(timezone.utc).isoformat()))
    return _recorded(db)
