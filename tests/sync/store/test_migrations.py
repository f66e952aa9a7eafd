"""Schema migrations: numbered, forward-only, recorded, and kind to the data already there."""

from __future__ import annotations

from cryptography.fernet import Fernet

from sync.crypto import Vault
from sync.store import Store, migrations
from sync.store import db as db_module
from tests.helpers import PHONE, draft


def test_an_old_store_with_data_migrates_and_keeps_everything(tmp_path):
    path = tmp_path / "old.db"
    old = db_module.connect(path, migrate=False)
    assert migrations.apply(old, target=1) == [1]
    vault = Vault(Fernet.generate_key())
    store = Store(old, vault, device_id="kiosk-2025")
    saved = store.enqueue(draft())
    store.set_backoffice_state("default", reachable=False, error="offline since Tuesday")
    store.request("sync_now")
    store.close()

    reopened = db_module.connect(path)  # migrates to the latest on open
    versions = [row[0] for row in reopened.conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == list(range(1, migrations.LATEST + 1))
    store = Store(reopened, vault, device_id="kiosk-2026")
    found = store.lookup(saved.reference)
    assert found.state == "queued" and [entry.status for entry in found.history] == ["queued"]
    assert store.personal(saved.reference)["notify_phone"] == PHONE
    assert store.backoffice_states()["default"]["last_error"] == "offline since Tuesday"
    assert store.take_request("sync_now")
    assert reopened.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # what the later migrations added works on the old rows
    assert store.record_status(saved.id, "open", "Logged", external_id="u-1")
    assert not store.record_status(saved.id, "open", "Logged", external_id="u-1")


def test_migrating_twice_or_from_several_processes_applies_each_once(tmp_path):
    first = db_module.connect(tmp_path / "s.db")
    second = db_module.connect(tmp_path / "s.db")
    assert migrations.apply(first) == [] and migrations.apply(second) == []
    count = first.conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0]
    assert count == migrations.LATEST


def test_migrations_are_numbered_in_order_without_gaps():
    numbers = [number for number, _name, _statements in migrations.MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))
