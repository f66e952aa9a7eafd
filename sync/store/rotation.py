"""Key rotation: every sealed value re-sealed under a new key, resumably.

The rotation is recorded in the store before the first value changes (the new key's file and
check value), and its progress (table -> last row done) commits with each batch, so a crash or a
power cut resumes where it stopped. Until it finishes every process opens values with either key
(sync/store/keycheck.py gives them a vault with both) and seals with the new one; at the end the new
check value replaces the old in one commit, and from then on only the new key is accepted.

assist does not move key files: the key in force may come from `store.key_file`, the environment
or a systemd credential, and only the operator knows which; the command says what to change.
Services should be stopped while it runs (the runbook says so): one that opened the store before
the rotation began still seals with the old key only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from sync.crypto import KeyProblem, Vault, check_value, create_key_file, read_key_file
from sync.store import db as db_module
from sync.store import keycheck
from sync.store.db import Conn

if TYPE_CHECKING:
    from sync.store.store import Store

log = logging.getLogger(__name__)

BATCH_ROWS = 200


@dataclass(frozen=True)
class Rotated:
    resealed: int  # values now sealed under the new key
    damaged: int  # values no key opens (already unreadable; left as they were, for the quarantine)
    resumed: bool  # an interrupted rotation was finished


def rotate(store: Store, new_key_file: Path, *, allow_shared: bool = False, batch_rows: int = BATCH_ROWS,
           on_row: Callable[[int], None] | None = None) -> Rotated:
    """Re-seal everything in `store` under the key in `new_key_file` (made, mode 0600, if absent).

    `on_row` is called with the running count of rows, before each row is re-sealed, inside its
    batch's transaction (tests raise from it to crash mid-way)."""
    new_key_file = new_key_file.expanduser().resolve()
    db = store.db
    under_way = _under_way(db, new_key_file)
    new_key = _new_key(new_key_file, resumed=under_way is not None, allow_shared=allow_shared)
    new_check = check_value(new_key)
    if under_way is None:
        _begin(store, new_key_file, new_check)
        progress: dict[str, int] = {}
    else:
        if new_check != under_way[0]:
            raise _not_under_way(new_key_file, under_way[1])
        log.info("key rotation resumed: new key in %s", new_key_file)
        progress = json.loads(under_way[2])
    vault = store.vault.rotating_to(new_key, str(new_key_file))
    store.vault = vault  # this process seals with the new key from now on
    rows = _Rows(on_row)
    for table, order, columns in keycheck.present(db):
        _reseal_table(db, vault, (table, order, columns), progress, batch_rows, rows)
    with db_module.write(db) as conn:
        resealed, damaged = conn.execute("SELECT resealed, damaged FROM key_rotation WHERE id = 1").fetchone()
        conn.execute("UPDATE store_key SET previous_check = check_value, check_value = ?, rotated_at = ? WHERE id = 1",
                     (new_check, _now()))
        conn.execute("DELETE FROM key_rotation WHERE id = 1")
    store.vault = Vault(new_key, where=str(new_key_file))
    log.info("key rotation finished: %d values re-sealed, %d damaged", resealed, damaged)
    return Rotated(resealed=resealed, damaged=damaged, resumed=under_way is not None)


def _under_way(db: db_module.Database, new_key_file: Path) -> tuple[str, str, str] | None:
    """The rotation under way (new check value, new key file, progress), or None; KeyProblem when
    it began with another key file."""
    row = db.conn.execute("SELECT new_check, new_key_file, progress FROM key_rotation WHERE id = 1").fetchone()
    if row is not None and str(new_key_file) != row[1]:
        raise _not_under_way(new_key_file, row[1])
    return (row[0], row[1], row[2]) if row else None


def _not_under_way(new_key_file: Path, under_way_file: str) -> KeyProblem:
    return KeyProblem(f"{new_key_file} is not the new key of the rotation under way: finish that one with "
                      f"`assist store rotate-key --new-key-file {under_way_file}`")


def _new_key(new_key_file: Path, *, resumed: bool, allow_shared: bool) -> bytes:
    """The key in `new_key_file`, made if it is missing, unless a rotation began with it."""
    try:
        return read_key_file(new_key_file, allow_shared=allow_shared)
    except FileNotFoundError:
        if resumed:
            raise KeyProblem(f"{new_key_file} is missing, but the rotation under way began with it: put it back "
                             "and run the command again") from None
        return create_key_file(new_key_file)


def _begin(store: Store, new_key_file: Path, new_check: str) -> None:
    """Record a new rotation before the first value changes, so that a crash resumes it."""
    if new_check in store.vault.checks:
        raise KeyProblem(f"{new_key_file} holds the key already in force: give a new key file (a missing one "
                         "is made)")
    with db_module.write(store.db) as conn:
        conn.execute("INSERT INTO key_rotation (id, new_check, new_key_file, started_at) VALUES (1, ?, ?, ?)",
                     (new_check, str(new_key_file), _now()))
    log.info("key rotation started: new key in %s", new_key_file)


class _Rows:
    """Counts the rows re-sealed so far, for `on_row`."""

    def __init__(self, on_row: Callable[[int], None] | None) -> None:
        self.on_row = on_row
        self.count = 0
        self._current: tuple[str, int] | None = None

    def reached(self, table: str, row_id: int) -> None:
        if (table, row_id) != self._current:
            self._current, self.count = (table, row_id), self.count + 1
            if self.on_row:
                self.on_row(self.count)


def _reseal_table(db: db_module.Database, vault: Vault, sealed: tuple[str, str, tuple[str, ...]],
                  progress: dict[str, int], batch_rows: int, rows: _Rows) -> None:
    """Re-seal one table (a SEALED entry) from where `progress` says, a batch per transaction:
    the batch read, re-sealed and its progress recorded in one commit, with no writer between."""
    table, order, columns = sealed
    while True:
        with db_module.write(db) as conn:
            after = progress.get(table, 0)
            last = _last_row(db, table, order, after, batch_rows)
            if last is None:
                return
            values = keycheck.sealed_values(db, table, order, columns, after=after, limit=batch_rows)
            resealed, damaged = _reseal_batch(conn, vault, table, order, values, rows)
            progress[table] = last
            conn.execute("UPDATE key_rotation SET progress = ?, resealed = resealed + ?, damaged = damaged + ? "
                         "WHERE id = 1", (json.dumps(progress), resealed, damaged))


def _reseal_batch(conn: Conn, vault: Vault, table: str, order: str, values: list[tuple[int, str, bytes]],
                  rows: _Rows) -> tuple[int, int]:
    """Re-seal `values` under the vault's first key; how many were re-sealed, and how many no key opens."""
    resealed = damaged = 0
    for row_id, column, value in values:
        rows.reached(table, row_id)
        if vault.sealed_with_first_key(value):
            continue
        try:
            fresh = vault.reseal(value)
        except KeyProblem:
            damaged += 1
            log.warning("key rotation: %s.%s of row %s opens with no key; left as it was", table, column, row_id)
            continue
        conn.execute(f"UPDATE {table} SET {column} = ? WHERE {order} = ?", (fresh, row_id))
        resealed += 1
    return resealed, damaged


def _last_row(db: db_module.Database, table: str, order: str, after: int, limit: int) -> int | None:
    """The id of the last of the next `limit` rows after `after` (None: no rows left)."""
    row = db.conn.execute(f"SELECT max({order}) FROM (SELECT {order} FROM {table} WHERE {order} > ? "
                          f"ORDER BY {order} LIMIT ?)", (after, limit)).fetchone()
    return None if row[0] is None else int(row[0])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()
