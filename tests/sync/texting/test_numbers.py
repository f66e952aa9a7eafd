"""Numbers: sealed, found again by a keyed hash whose key is made once per store and sealed."""

from __future__ import annotations

from sync.store import Store, migrations
from sync.texting import numbers, outbound
from tests.helpers import PHONE


def stored(store, settings) -> bytes:
    """Everything the store holds as bytes: its SQLite files, or every value of every table on PostgreSQL."""
    if not store.db.on_postgres:
        store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
        return b"".join(path.read_bytes() for path in settings.store_path.parent.glob("assist.db*"))
    return b"".join(value if isinstance(value, bytes) else str(value).encode()
                    for table in sorted(migrations.tables(store.db))
                    for row in store.db.conn.execute(f"SELECT * FROM {table}").fetchall() for value in row)


def test_numbers_are_sealed_and_found_again_by_a_keyed_hash(store, settings):
    outbound.queue_text(store, PHONE, "Hello", kind="test", dedupe_key="k1", language="en")
    outbound.queue_text(store, PHONE, "Again", kind="test", dedupe_key="k2", language="en")
    assert store.db.conn.execute("SELECT count(*) FROM sms_numbers").fetchone()[0] == 1
    raw = stored(store, settings)
    for secret in (PHONE, PHONE[1:], "7911123456", "Hello", "Again"):
        assert secret.encode() not in raw, secret
    hashed = numbers.number_hash(store, PHONE)
    assert len(hashed) == 64 and hashed == numbers.number_hash(store, PHONE)
    assert numbers.number_hash(store, "+447911654321") != hashed


def test_the_hash_key_is_made_once_and_needs_the_store_key(store, settings, tmp_path):
    first = numbers.number_key(store)
    again = Store.open(settings)
    assert numbers.number_key(again) == first
    again.close()
    row = store.db.conn.execute("SELECT number_key FROM sms_secrets").fetchone()[0]
    assert first not in row  # sealed, not in clear
