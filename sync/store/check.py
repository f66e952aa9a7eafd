"""`assist store check`: is this store fit to run on? Each check a name, a verdict and one line.

The interface is engine-neutral: `checks(settings)` returns Check results and the command only
prints them. On PostgreSQL the checks mean (docs/postgres.md):
* connection: the server answers at `store.url`, and which version it is;
* rights: the role may read and write every table of the store (and create tables, for migrations);
* schema and key: as on SQLite (the same migration numbers, the same check value);
* file modes: the key file only (the database's files are the server's);
* integrity and free space are the database operators' (page checksums, amcheck, the volume's
  monitoring): they are not checked from here, and the check says so rather than passing silently.
Nothing is written: no key is made, no check value recorded, no migration applied.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
from dataclasses import dataclass
from pathlib import Path

from sync.config import Settings
from sync.crypto import KeyProblem
from sync.store import db as db_module
from sync.store import keycheck, migrations


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def checks(settings: Settings, *, full: bool = False) -> list[Check]:
    """Every check of the store in `settings`. `full` runs SQLite's integrity_check rather than
    the quicker quick_check (which skips matching indexes against their tables)."""
    if settings.on_postgres:
        return _postgres_checks(settings)
    path = settings.store_path
    if not path.is_file():
        return [Check("store", False, f"no store at {path} (set store.path, or restore it from its backup)")]
    results = [free_space(path, settings.store.min_free_mb), _modes(settings)]
    try:
        db = db_module.connect(path, migrate=False)
    except sqlite3.Error as error:
        return [Check("store", False, f"{path} cannot be opened: {error}"), *results]
    try:
        results[:0] = [_integrity(db, full), _schema(db), _key(db, settings)]
    except sqlite3.Error as error:
        results.insert(0, Check("store", False, f"{path} cannot be read: {error}"))
    finally:
        db.conn.close()
    return results


def _postgres_checks(settings: Settings) -> list[Check]:
    where = settings.store_name
    modes = _modes(settings)
    try:
        db = db_module.connect_postgres(settings.store.url, migrate=False)
    except db_module.StoreError as error:
        return [Check("connection", False, f"{where}: {error}"), modes]
    try:
        version = db.conn.execute("SHOW server_version").fetchone()[0]
        return [Check("connection", True, f"{where} answers (PostgreSQL {version})"), _rights(db), _schema(db),
                _key(db, settings), modes,
                Check("integrity", True, "left to the database's operators on PostgreSQL (checksums, amcheck)")]
    except sqlite3.Error as error:
        return [Check("connection", False, f"{where} cannot be read: {error}"), modes]
    finally:
        db.close()


def _rights(db: db_module.Database) -> Check:
    """The role's rights on each of the store's tables (and in its schema, for migrations)."""
    # Each right asked on its own: with several in one call, PostgreSQL answers whether any is held.
    missing = [name for name in sorted(migrations.tables(db)) if not db.conn.execute(
        "SELECT " + " AND ".join(f"has_table_privilege(current_user, ?, '{right}')"
                                 for right in ("SELECT", "INSERT", "UPDATE", "DELETE")), (name,) * 4).fetchone()[0]]
    if not db.conn.execute("SELECT has_schema_privilege(current_user, current_schema(), 'CREATE')").fetchone()[0]:
        missing.append("CREATE in the schema (needed to migrate)")
    if missing:
        return Check("rights", False, "the role lacks: " + ", ".join(missing) + " (README: the role owns its database)")
    return Check("rights", True, "the role may read and write every table, and migrate")


def _integrity(db: db_module.Database, full: bool) -> Check:
    pragma = "integrity_check" if full else "quick_check"
    found = [row[0] for row in db.conn.execute(f"PRAGMA {pragma}(20)")]
    if found == ["ok"]:
        return Check("integrity", True, f"{pragma}: ok")
    return Check("integrity", False, f"{pragma} found {len(found)} problem(s), first: {found[0]} "
                 "(restore the store from its last good backup)")


def _schema(db: db_module.Database) -> Check:
    version = migrations.current_version(db)
    if version > migrations.LATEST:
        return Check("schema", False, f"version {version}, made by a newer assist "
                     f"(this one knows {migrations.LATEST}): "
                     "update assist, or restore the backup taken before the update")
    if version < migrations.LATEST:
        return Check("schema", True, f"version {version}; migrated to {migrations.LATEST} when next opened")
    return Check("schema", True, f"version {version} (latest)")


def _key(db: db_module.Database, settings: Settings) -> Check:
    try:
        vault = keycheck.open_vault(db, settings, record=False)
    except KeyProblem as problem:
        return Check("key", False, str(problem))
    return Check("key", True, f"{vault.where} matches the store")


def _modes(settings: Settings) -> Check:
    """The store and its -wal/-shm readable by no other user; the key file by no group or other."""
    problems = []
    store = settings.store_path
    for path in () if settings.on_postgres else (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
        mode = _mode(path)
        if mode is not None and mode & 0o007:
            problems.append(f"{path} is open to other users (mode {mode:04o}): chmod o= {path}")
    if not settings.store.key:
        mode = _mode(settings.key_path)
        if mode is not None and mode & 0o077 and not settings.store.allow_shared_key_file:
            problems.append(f"{settings.key_path} is open to other users (mode {mode:04o}): "
                            f"chmod 600 {settings.key_path}")
    if problems:
        return Check("file modes", False, "; ".join(problems))
    return Check("file modes", True, "key private to its owner" if settings.on_postgres
                 else "store and key private to their owner")


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def free_space(path: Path, minimum_mb: int) -> Check:
    free_mb = shutil.disk_usage(path.parent).free // 2**20
    if free_mb < minimum_mb:
        return Check("free space", False, f"{free_mb} MiB free beside {path}, below store.min_free_mb ({minimum_mb}): "
                     "free some space")
    return Check("free space", True, f"{free_mb} MiB free (store.min_free_mb = {minimum_mb})")
