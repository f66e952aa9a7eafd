"""Every command and service under each fault an operator meets: one line, the documented exit
code (README, "Exit codes"), never a traceback; the sync worker keeps looping; `--version`.

The faults are real: a full disk is a small tmpfs filled to the last byte (mounting needs root;
elsewhere those cases are skipped, and tests/test_store.py's max_page_count test stands in), a
held lock is another connection inside BEGIN EXCLUSIVE, keys are real files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

import assist
from assist.cli import cli, version
from sync.config import load_settings
from sync.open311.worker import Worker
from sync.store import Store, migrations
from sync.store import db as db_module
from tests.helpers import draft

ROOT = Path(__file__).resolve().parents[1]

OK, CONFIG, KEY, STORE, FULL = 0, 3, 4, 5, 6

#: Commands, as an operator types them; REF is the seeded submission's reference.
READS = {"sync status": ["sync", "status"], "outbox list": ["outbox", "list"],
         "volunteer list": ["volunteer", "list"]}
WRITES = {"sync run --once": ["sync", "run", "--once"],
          "outbox cancel": ["outbox", "cancel", "REF", "--reason", "resident phoned"]}
SERVICES = {"kiosk": ["kiosk", "--log-file", "LOG"], "sms serve": ["sms", "serve", "--port", "0"]}


@pytest.fixture
def seeded(env, tmp_path):
    """A store with one queued submission, sealed under its key file, and the env to reach it."""
    env = {**env, "ASSIST_TWILIO__AUTH_TOKEN": "t" * 32, "ASSIST_TWILIO__PUBLIC_URL": "https://sms.example",
           "ASSIST_BACKOFFICE__URL": "http://127.0.0.1:9/"}  # the discard port: refused at once
    store = Store.open(load_settings(environ=env))
    reference = store.enqueue(draft()).reference
    store.close()
    return env, reference, tmp_path


def invoke(args, env, reference, tmp_path, caplog):
    """The real CLI, in this process (CliRunner): its output, exit code, and whether anything
    anywhere (the output, a log record, an escaped exception) carried a traceback."""
    args = [reference if arg == "REF" else str(tmp_path / "kiosk.log") if arg == "LOG" else arg for arg in args]
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        result = CliRunner().invoke(cli, args, env=env)
    finally:  # `assist kiosk` sends the log to its file: put the test's logging back
        for handler in [handler for handler in root.handlers if handler not in before]:
            root.removeHandler(handler)
            handler.close()
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)
    escaped = result.exception is not None and not isinstance(result.exception, SystemExit)
    logged = [record for record in caplog.records if record.exc_info]
    kiosk_log = tmp_path / "kiosk.log"  # where `assist kiosk` logs instead of the screen
    traced = escaped or bool(logged) or "Traceback" in result.output or (
        kiosk_log.exists() and "Traceback" in kiosk_log.read_text())
    return result, traced


def said_once(fault, caplog, args, code: int, words: str) -> None:
    """The command under `fault` (env, reference, folder) ends with one clear line and `code`."""
    env, reference, tmp_path = fault
    result, traced = invoke(args, env, reference, tmp_path, caplog)
    assert not traced, result.output
    assert result.exit_code == code, result.output
    assert words in result.output


def key_path(env) -> Path:
    return Path(env["ASSIST_STORE__PATH"]).with_name("assist.key")


def fault_empty_key(env):
    key_path(env).write_bytes(b"")
    return env


def fault_corrupt_key(env):
    key_path(env).write_bytes(b"not-a-key-at-all\n")
    return env


def fault_foreign_key(env):
    key_path(env).write_bytes(Fernet.generate_key() + b"\n")
    return env


def fault_missing_key(env):
    key_path(env).unlink()
    return env


def fault_key_is_a_folder(env):
    key_path(env).unlink()
    key_path(env).mkdir()
    return env


def fault_bad_env_key(env):
    return {**env, "ASSIST_STORE__KEY": "hunter2"}


def fault_corrupt_store(env):
    store = Path(env["ASSIST_STORE__PATH"])
    store.write_bytes(b"this is no database, only some bytes of something else " * 200)
    return env


def fault_newer_schema(env):
    db = db_module.connect(env["ASSIST_STORE__PATH"])
    db.conn.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', '')",
                    (migrations.LATEST + 1,))
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    return env


#: fault -> (what it does, the exit code of a command that needs the key to open sealed data,
#: of one that opens the store only). A foreign or missing key is only found where something
#: sealed is opened (until the store records a key check).
OPEN_FAULTS = {
    "empty key file": (fault_empty_key, KEY),
    "corrupt key file": (fault_corrupt_key, KEY),
    "key path is a folder": (fault_key_is_a_folder, KEY),
    "bad ASSIST_STORE__KEY": (fault_bad_env_key, KEY),
    "damaged store file": (fault_corrupt_store, STORE),
    "store from a newer version": (fault_newer_schema, STORE),
}
COMMANDS = {**READS, **WRITES, **SERVICES}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault", OPEN_FAULTS)
def test_a_fault_met_opening_the_store_is_one_line_and_its_exit_code(seeded, caplog, fault, command):
    env, reference, tmp_path = seeded
    make, code = OPEN_FAULTS[fault]
    env = make(env)
    result, traced = invoke(COMMANDS[command], env, reference, tmp_path, caplog)
    assert not traced, result.output
    assert result.exit_code == code, result.output
    [line] = result.output.strip().splitlines()
    assert line.startswith("Error: ")


@pytest.mark.parametrize("fault", [fault_foreign_key, fault_missing_key], ids=["foreign key", "missing key"])
def test_a_key_that_does_not_open_the_queue_stops_the_worker_with_exit_code_4(seeded, caplog, fault):
    env, reference, tmp_path = seeded
    result, traced = invoke(WRITES["sync run --once"], fault(env), reference, tmp_path, caplog)
    assert not traced, result.output
    assert result.exit_code == KEY, result.output
    assert "key" in result.output


def test_a_store_from_a_newer_version_is_refused_with_both_versions_and_left_as_it_was(seeded, caplog):
    env, reference, tmp_path = seeded
    fault_newer_schema(env)
    path = Path(env["ASSIST_STORE__PATH"])
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result, traced = invoke(WRITES["outbox cancel"], env, reference, tmp_path, caplog)
    assert not traced and result.exit_code == STORE
    assert f"schema version {migrations.LATEST + 1}" in result.output
    assert f"knows up to {migrations.LATEST}" in result.output
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


# -- a held lock ------------------------------------------------------------------------------------

@pytest.fixture
def held_lock(seeded, monkeypatch):
    """Another program inside BEGIN EXCLUSIVE on the store; commands wait 0.3 s, not 5, for it."""
    env, reference, tmp_path = seeded
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 300)
    holder = sqlite3.connect(env["ASSIST_STORE__PATH"], isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield seeded
    holder.execute("ROLLBACK")
    holder.close()


@pytest.mark.parametrize("command", WRITES)
def test_a_held_lock_stops_a_writing_command_with_exit_code_5(held_lock, caplog, command):
    said_once(held_lock, caplog, WRITES[command], STORE, "busy in another program")


@pytest.mark.parametrize("command", READS)
def test_a_held_lock_does_not_stop_a_command_that_only_reads(held_lock, caplog, command):
    env, reference, tmp_path = held_lock
    result, traced = invoke(READS[command], env, reference, tmp_path, caplog)
    assert not traced and result.exit_code == OK, result.output


def run_worker_briefly(settings, store, seconds: float = 2.2) -> bool:
    """Run `assist sync run`'s loop (a round a second) for a while: is it still running then?"""
    fast = dataclasses.replace(settings, sync=dataclasses.replace(settings.sync, poll_seconds=1))
    worker = Worker(store, fast)

    async def go():
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        await asyncio.sleep(seconds)
        still_running = not running.done()
        stop.set()
        await running
        await worker.aclose()
        return still_running
    return asyncio.run(go())


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["held lock", "full disk"])
def test_the_worker_logs_one_line_and_keeps_looping(request, seeded, caplog, fault):
    if fault == "full disk":
        env, _, _, mountpoint = request.getfixturevalue("small_disk")
    else:
        env = seeded[0]
    settings = load_settings(environ=env)
    store = Store.open(settings)
    store.db.conn.execute("PRAGMA busy_timeout = 100")
    holder = sqlite3.connect(settings.store_path, isolation_level=None)
    if fault == "held lock":
        holder.execute("BEGIN EXCLUSIVE")
    else:
        fill(mountpoint)
    try:
        with caplog.at_level(logging.WARNING, logger="sync.open311.worker"):
            assert run_worker_briefly(settings, store)
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()
        store.close()
    said = [record.getMessage() for record in caplog.records if "stopped by the store" in record.getMessage()]
    assert len(said) >= 2, said  # it tried again after the wait
    assert not any(record.exc_info for record in caplog.records)
    assert ("no room left" if fault == "full disk" else "busy in another program") in said[0]


# -- a full disk --------------------------------------------------------------------------------------

@pytest.fixture
def small_disk(seeded):
    """The seeded store moved onto a 3 MB tmpfs of its own: (env, reference, tmp_path, mountpoint)."""
    env, reference, tmp_path = seeded
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mountpoint)],
                             capture_output=True) if os.geteuid() == 0 else None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root here; tests/test_store.py fills a store by max_page_count")
    try:
        old = Path(env["ASSIST_STORE__PATH"])
        for name in ("assist.db", "assist.key"):
            shutil.copy2(old.parent / name, mountpoint / name)  # with its mode: a shared key is refused
        yield {**env, "ASSIST_STORE__PATH": str(mountpoint / "assist.db")}, reference, tmp_path, mountpoint
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def fill(mountpoint: Path) -> None:
    """Fill the disk to the last byte."""
    filler = os.open(mountpoint / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 1):  # then the last few bytes too
            try:
                while True:
                    os.write(filler, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(filler)


@pytest.fixture
def full_disk(small_disk):
    env, reference, tmp_path, mountpoint = small_disk
    fill(mountpoint)
    return env, reference, tmp_path


@pytest.mark.parametrize("command", COMMANDS)
def test_a_full_disk_is_one_line_and_exit_code_6(full_disk, caplog, command):
    said_once(full_disk, caplog, COMMANDS[command], FULL, "no room left")


def run_assist(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assist", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env}, cwd=ROOT)


def test_the_sync_service_on_a_full_disk_exits_6_without_a_traceback(full_disk):
    env, _, _ = full_disk
    done = run_assist("sync", "run", env=env)
    assert done.returncode == FULL and "Traceback" not in done.stderr + done.stdout
    assert "no room left" in done.stderr


@pytest.mark.slow
def test_the_sms_service_with_a_corrupt_key_exits_4_without_a_traceback(seeded):
    env, _, _ = seeded
    fault_corrupt_key(env)
    done = run_assist("sms", "serve", "--port", "0", env=env)
    assert done.returncode == KEY and "Traceback" not in done.stderr + done.stdout
    assert str(key_path(env)) in done.stderr


# -- configuration and usage ------------------------------------------------------------------------

def test_a_bad_setting_exits_3(seeded, caplog):
    env, reference, tmp_path = seeded
    result, traced = invoke(["sync", "status"], {**env, "ASSIST_SYNC__POLL_SECONDS": "often"}, reference,
                            tmp_path, caplog)
    assert not traced and result.exit_code == CONFIG and "configuration error" in result.output


# -- versions ---------------------------------------------------------------------------------------

@pytest.mark.slow
def test_version_is_the_installed_distributions_and_matches_the_source():
    done = subprocess.run([sys.executable, "-m", "assist", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert done.stdout.strip() == f"assist {declared}" == f"assist {version()}"
    assert assist.__version__ == declared


def test_an_older_store_is_still_migrated_forward(tmp_path):
    path = tmp_path / f"{uuid.uuid4().hex}.db"
    old = db_module.connect(path, migrate=False)
    migrations.apply(old, target=1)
    old.conn.close()
    assert migrations.current_version(db_module.connect(path)) == migrations.LATEST


def test_the_readme_lists_every_exit_code_the_cli_uses():
    from assist import cli as cli_module

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    documented = {int(line.split("|")[1]) for line in table.splitlines() if line.startswith("| ") and
                  line.split("|")[1].strip().isdigit()}
    used = {value for name, value in vars(cli_module).items() if name.startswith("EXIT_")}
    assert used <= documented == {0, 1, 2, 3, 4, 5, 6}
    assert (KEY, STORE, FULL, CONFIG) == (cli_module.EXIT_KEY, cli_module.EXIT_STORE, cli_module.EXIT_DISK_FULL,
                                          cli_module.EXIT_CONFIG)
