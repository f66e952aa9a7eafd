"""A real PostgreSQL for the tests, started once per test process and thrown away after.

The `pgserver` wheel bundles PostgreSQL's binaries, so `make test` on a machine with only Python
starts one (also as root, which Debian's binaries refuse). It runs with PostgreSQL's defaults for
durability (`fsync` and `synchronous_commit` on: asserted below), reached over its Unix socket.
Each test gets a database of its own, made from a template migrated once, so that it starts
empty and no test sees another's rows.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import uuid
from pathlib import Path
from typing import Any

import psutil
import psycopg


class Postgres:
    """One throwaway server (pgserver's) and the databases made on it."""

    def __init__(self) -> None:
        import pgserver

        # As root, pgserver runs the server as a user of its own, who must be able to reach the
        # folder (pytest's are private to root): one of its own under the system's temp folder.
        self.folder = Path(tempfile.mkdtemp(prefix="assist-postgres-"))
        self.folder.chmod(0o755)
        self.server: Any = pgserver.get_server(self.folder / "data", cleanup_mode="delete")
        self.admin_url: str = self.server.get_uri()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            settings = dict(conn.execute("SELECT name, setting FROM pg_settings WHERE name IN "
                                         "('fsync', 'synchronous_commit')").fetchall())
        assert settings == {"fsync": "on", "synchronous_commit": "on"}, settings
        self._template: str | None = None

    def url(self, database: str) -> str:
        return self.admin_url.replace("/postgres?", f"/{database}?", 1)

    def new_database(self, template: str | None = None) -> str:
        """A new empty database (a copy of `template` if given); its URL."""
        return self.url(self._create(template))

    def _create(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
        return name

    def migrated_database(self) -> str:
        """A new database at the newest schema: a copy of a template migrated once per process."""
        if self._template is None:
            from sync.store import db as db_module

            name = self._create()
            db_module.connect_postgres(self.url(name)).close()
            self._template = name
        return self.new_database(template=self._template)

    def stop(self) -> None:
        """Stop the server at once and throw its data away. A clean stop would first write out every
        database the tests made (a shutdown checkpoint, fsynced: a minute or two on a busy machine)
        for data about to be deleted; SIGQUIT is PostgreSQL's immediate shutdown."""
        pid_file = self.folder / "data" / "postmaster.pid"
        if pid_file.is_file():
            postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
            postmaster.send_signal(signal.SIGQUIT)
            postmaster.wait(timeout=10)
        self.server.cleanup()
        shutil.rmtree(self.folder, ignore_errors=True)


#: The store's engines, for fixtures parametrised over both (`ENGINES` as pytest params).
ENGINES = ("sqlite", "postgresql")


def store_env(engine: str, folder: Path, postgres: Postgres | None) -> dict[str, str]:
    """Settings (as environment variables) for a store on `engine`: a SQLite file in `folder`, or a
    new database on the tests' PostgreSQL with its key file and gazetteer file in `folder` (never
    the machine's own data directory, which other runs share)."""
    if engine == "sqlite":
        return {"ASSIST_STORE__PATH": str(folder / "assist.db")}
    assert postgres is not None
    return {"ASSIST_STORE__URL": postgres.migrated_database(), "ASSIST_STORE__KEY_FILE": str(folder / "assist.key"),
            "ASSIST_STORE__GAZETTEER_PATH": str(folder / "gazetteer.db")}


def parametrize_engines(metafunc: Any) -> None:
    """For a conftest's pytest_generate_tests: a test asking for `engine` (or for a fixture that does)
    runs on both engines, one marked `sqlite_only` (a test of SQLite files alone) on SQLite alone."""
    if "engine" in metafunc.fixturenames:
        metafunc.parametrize("engine", ["sqlite"] if metafunc.definition.get_closest_marker("sqlite_only") else ENGINES)


def engine_env(engine: str, folder: Path, request: Any) -> dict[str, str]:
    """tests/conftest.py's `env` with the store on `engine` (the `postgres` fixture started if need be)."""
    postgres = request.getfixturevalue("postgres") if engine == "postgresql" else None
    return {**store_env(engine, folder, postgres), "ASSIST_KIOSK__DEVICE_ID": "kiosk-test-1"}
