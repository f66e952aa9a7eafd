"""Key custody: a store is opened with its own key or not at all, its key is never silently
replaced, `assist store check` says what is wrong, and a key rotation survives a crash."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from sync.config import ConfigError, load_settings
from sync.crypto import KeyProblem, Vault
from sync.store import Store, keycheck, rotation
from sync.texting import numbers, outbound
from tests.helpers import EMAIL, PHONE, draft


def _settings(env, **extra):
    return load_settings(environ={**env, **extra})


def _filled(settings, count=4) -> list[str]:
    """A store holding sealed values in several tables; returns the references."""
    store = Store.open(settings)
    references = [store.enqueue(draft(idempotency_key=f"k{n}")).reference for n in range(count)]
    outbound.queue_text(store, PHONE, "Your reference", kind="reference", dedupe_key="t1", language="en")
    store.close()
    return references


def _every_sealed_value(store) -> list[bytes]:
    return [value for table, order, columns in keycheck.present(store.db)
            for _id, _column, value in keycheck.sealed_values(store.db, table, order, columns, limit=10**6)]


def _private_key_file(path: Path, key: bytes) -> Path:
    path.write_bytes(key + b"\n")
    path.chmod(0o600)
    return path


@pytest.mark.sqlite_only
def test_a_new_store_and_its_key_are_private_and_the_key_is_recorded_by_its_check_value_only(settings):
    store = Store.open(settings)
    key = settings.key_path.read_bytes().strip()
    recorded = store.db.conn.execute("SELECT check_value FROM store_key").fetchone()[0]
    assert recorded == store.vault.check and key.decode() not in recorded
    assert stat.S_IMODE(os.stat(settings.store_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.key_path).st_mode) == 0o600
    keycheck.verify(store)  # the cheap check services run
    store.close()


def test_a_missing_key_file_is_never_replaced_while_the_store_holds_sealed_data(settings):
    _filled(settings)
    settings.key_path.rename(settings.key_path.with_name("moved.key"))
    with pytest.raises(KeyProblem, match=r"assist.key is missing and .* holds data sealed with it: restore"):
        Store.open(settings)
    assert not settings.key_path.exists()


def test_another_key_is_refused_with_the_file_named(settings, env, tmp_path):
    _filled(settings)
    foreign = _private_key_file(tmp_path / "foreign.key", Fernet.generate_key())
    with pytest.raises(KeyProblem, match=r"foreign.key does not hold the key .* was sealed with: restore"):
        Store.open(_settings(env, ASSIST_STORE__KEY_FILE=str(foreign)))
    with pytest.raises(KeyProblem, match=r"store.key \(from env ASSIST_STORE__KEY\) does not hold the key"):
        Store.open(_settings(env, ASSIST_STORE__KEY=Fernet.generate_key().decode()))


@pytest.mark.parametrize("make, message", [
    (lambda path: path.write_bytes(b""), "is empty: restore"),
    (lambda path: path.write_bytes(b"not a key at all\n"), "not a valid key"),
    (lambda path: path.mkdir(), "is a folder, not a key file"),
])
def test_an_empty_corrupt_or_folder_key_is_refused_in_one_line(env, tmp_path, make, message):
    path = tmp_path / "bad.key"
    make(path)
    if path.is_file():
        path.chmod(0o600)
    with pytest.raises(KeyProblem, match=message) as refused:
        Store.open(_settings(env, ASSIST_STORE__KEY_FILE=str(path)))
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


def test_a_key_file_other_users_can_read_is_refused_unless_allowed(settings, env):
    Store.open(settings).close()
    settings.key_path.chmod(0o640)
    with pytest.raises(KeyProblem, match=r"open to other users \(mode 0640\): run `chmod 600"):
        Store.open(settings)
    Store.open(_settings(env, ASSIST_STORE__ALLOW_SHARED_KEY_FILE="true")).close()


def _forget_check_value(settings) -> None:
    """The store as an earlier version left it: sealed data, no check value."""
    store = Store.open(settings)
    store.db.conn.execute("DELETE FROM store_key")
    store.close()


def test_the_first_open_of_an_existing_store_records_its_key_only_if_it_opens_what_is_sealed(settings, env, tmp_path):
    _filled(settings)
    _forget_check_value(settings)
    foreign = _private_key_file(tmp_path / "foreign.key", Fernet.generate_key())
    with pytest.raises(KeyProblem, match=r"foreign.key does not open \d+ of \d+ sealed values sampled"):
        Store.open(_settings(env, ASSIST_STORE__KEY_FILE=str(foreign)))
    store = Store.open(settings)  # its own key: recorded now
    assert store.db.conn.execute("SELECT check_value FROM store_key").fetchone()[0] == store.vault.check
    store.close()


def test_a_store_already_forked_under_two_keys_is_refused_not_blessed(settings, tmp_path):
    _filled(settings, count=6)
    store = Store.open(settings)
    other = Vault(Fernet.generate_key())
    store.db.conn.execute("UPDATE submissions SET payload = ? WHERE id > 3", (other.seal({"x": 1}),))
    store.db.conn.execute("DELETE FROM store_key")
    store.close()
    with pytest.raises(KeyProblem, match="sampled from the store"):
        Store.open(settings)


def test_one_damaged_value_does_not_stop_the_first_check(settings):
    references = _filled(settings, count=12)
    store = Store.open(settings)
    sealed = store.db.conn.execute("SELECT contact FROM submissions WHERE reference = ?",
                                   (references[0],)).fetchone()[0]
    store.db.conn.execute("UPDATE submissions SET contact = ? WHERE reference = ?",
                          (sealed[:-1] + bytes([sealed[-1] ^ 1]), references[0]))
    store.db.conn.execute("DELETE FROM store_key")
    store.close()
    Store.open(settings).close()


def test_secrets_come_from_systemd_credentials_and_the_environment_wins(env, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    key = Fernet.generate_key().decode()
    (credentials / "store_key").write_text(key + "\n")
    (credentials / "twilio_auth_token").write_text("from-credential\n")
    (credentials / "notify_api_key").write_text("notify-secret\n")
    (credentials / "backoffice_api_key").write_text("open311-secret\n")
    settings = _settings(env, CREDENTIALS_DIRECTORY=str(credentials), ASSIST_TWILIO__AUTH_TOKEN="from-env")
    assert settings.store.key == key and settings.sources["store.key"] == "credential store_key"
    assert settings.twilio.auth_token == "from-env"
    assert settings.sources["twilio.auth_token"] == "env ASSIST_TWILIO__AUTH_TOKEN"
    assert settings.notify.api_key == "notify-secret" and settings.backoffice.api_key == "open311-secret"
    store = Store.open(settings)
    assert store.vault.where == "store.key (from credential store_key)"
    store.close()
    assert not settings.key_path.exists()  # the credential's key is used; no key file is made


def test_a_bad_or_unreadable_credential_is_named(env, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "store_key").write_text("not-a-key\n")
    with pytest.raises(KeyProblem, match=r"store.key \(from credential store_key\): not a valid key"):
        Store.open(_settings(env, CREDENTIALS_DIRECTORY=str(credentials)))
    (credentials / "store_key").unlink()
    (credentials / "store_key").mkdir()
    with pytest.raises(ConfigError, match=r"credentials/store_key: store.key: expected a readable credential file"):
        _settings(env, CREDENTIALS_DIRECTORY=str(credentials))


@pytest.mark.sqlite_only
def test_store_check_lists_ok_lines_and_exits_zero_on_a_sound_store(run, settings):
    _filled(settings)
    result = run("store", "check")
    assert result.exit_code == 0, result.output
    names = [line.split(":")[0] for line in result.output.splitlines()]
    assert names == ["ok  integrity", "ok  schema", "ok  key", "ok  free space", "ok  file modes"]


@pytest.mark.sqlite_only
def test_store_check_lists_each_problem_and_exits_non_zero(run, settings, tmp_path):
    _filled(settings)
    settings.store_path.chmod(0o644)
    foreign = _private_key_file(tmp_path / "foreign.key", Fernet.generate_key())
    result = run("store", "check", extra_env={"ASSIST_STORE__KEY_FILE": str(foreign),
                                              "ASSIST_STORE__MIN_FREE_MB": str(10**9)})
    assert result.exit_code == 1
    problems = [line for line in result.output.splitlines() if line.startswith("PROBLEM")]
    assert [line.split(":")[0] for line in problems] == ["PROBLEM  key", "PROBLEM  free space", "PROBLEM  file modes"]
    assert "foreign.key does not hold the key" in result.output and "chmod o=" in result.output


def test_store_check_makes_no_key_for_a_store_that_has_none(run, settings):
    Store.open(settings).close()
    settings.key_path.unlink()
    result = run("store", "check")
    assert result.exit_code == 1 and "PROBLEM  key:" in result.output
    assert not settings.key_path.exists()


def test_a_rotation_crashed_half_way_resumes_and_then_only_the_new_key_opens(run, settings, env, tmp_path):
    references = _filled(settings, count=8)
    new_file = tmp_path / "keys" / "new.key"
    store = Store.open(settings)
    before = {reference: store.personal(reference) for reference in references}

    def crash(rows: int) -> None:
        if rows == 7:
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        rotation.rotate(store, new_file, batch_rows=3, on_row=crash)
    store.close()
    assert stat.S_IMODE(os.stat(new_file).st_mode) == 0o600
    new_only = Vault(new_file.read_bytes().strip())
    half = Store.open(settings)  # mid-way, with the old key in force: both keys open
    mixed = [new_only.sealed_with_first_key(value) for value in _every_sealed_value(half)]
    assert any(mixed) and not all(mixed)
    assert {reference: half.personal(reference) for reference in references} == before
    half.close()

    result = run("store", "rotate-key", "--new-key-file", str(new_file))
    assert result.exit_code == 0, result.output
    assert "an interrupted rotation, finished" in result.output and f'store.key_file = "{new_file}"' in result.output

    with pytest.raises(KeyProblem, match="used before its key was rotated"):
        Store.open(settings)
    rotated = Store.open(_settings(env, ASSIST_STORE__KEY_FILE=str(new_file)))
    assert all(new_only.sealed_with_first_key(value) for value in _every_sealed_value(rotated))
    assert {reference: rotated.personal(reference) for reference in references} == before
    assert rotated.personal(references[0])["contact"]["email"] == EMAIL
    assert numbers.number_state(rotated, PHONE) is not None
    rotated.close()


def test_a_service_still_holding_the_old_key_fails_its_key_check_after_a_rotation(settings, tmp_path):
    _filled(settings)
    service = Store.open(settings)
    rotation.rotate(Store.open(settings), tmp_path / "new.key")
    with pytest.raises(KeyProblem, match="no longer matches the store's key"):
        keycheck.verify(service)
    service.close()


def test_a_rotation_is_refused_with_another_new_key_while_one_is_under_way(settings, tmp_path):
    _filled(settings)
    store = Store.open(settings)

    def crash(rows: int) -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError):
        rotation.rotate(store, tmp_path / "first.key", batch_rows=2, on_row=crash)
    with pytest.raises(KeyProblem,
                       match=r"second.key is not the new key of the rotation under way: finish .*first.key"):
        rotation.rotate(store, tmp_path / "second.key")
    store.close()


def test_a_rotation_to_the_key_already_in_force_is_refused(settings):
    store = Store.open(settings)
    with pytest.raises(KeyProblem, match="holds the key already in force"):
        rotation.rotate(store, settings.key_path)
    store.close()


@pytest.mark.sqlite_only
def test_store_check_reports_a_missing_store_and_a_schema_from_a_newer_version(run, settings):
    result = run("store", "check")
    assert result.exit_code == 1 and f"PROBLEM  store: no store at {settings.store_path}" in result.output
    Store.open(settings).close()
    conn = sqlite3.connect(settings.store_path)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'from the future', '2027-01-01')")
    conn.commit()
    conn.close()
    result = run("store", "check")
    assert result.exit_code == 1
    assert "PROBLEM  schema: version 99, made by a newer assist" in result.output


@pytest.mark.sqlite_only
def test_a_backup_is_a_private_checked_copy_and_never_overwrites(run, settings, tmp_path):
    references = _filled(settings)
    copy = tmp_path / "backups" / "assist.db"
    result = run("store", "backup", str(copy))
    assert result.exit_code == 0 and "Keep the key apart" in result.output
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    restored = sqlite3.connect(copy).execute("SELECT reference FROM submissions ORDER BY id").fetchall()
    assert [row[0] for row in restored] == references
    again = run("store", "backup", str(copy))
    assert again.exit_code == 1 and "already exists: give a new file name" in again.output
