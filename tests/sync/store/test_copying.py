"""Copying a whole store to the other engine (sync/store/copying.py): everything arrives, sealed as it
was, and opens with the same key; an interrupted copy is finished by running it again, nothing
written twice; a destination holding another store, or a source at another schema, is refused."""

from __future__ import annotations

import sqlite3

import pytest

from sync.config import load_settings
from sync.places import gazetteer as gz
from sync.store import Store, copying, migrations
from sync.store import db as db_module
from sync.store.errors import StoreTooNew
from sync.texting import numbers
from tests.helpers import EMAIL, draft
from tests.store_contents import COUNCIL_NOTES, SUBMISSIONS, fill


def sqlite_settings(path, key):
    return load_settings(environ={"ASSIST_STORE__PATH": str(path), "ASSIST_STORE__KEY_FILE": str(key),
                                  "ASSIST_KIOSK__DEVICE_ID": "kiosk-test-1"})


@pytest.fixture
def source(tmp_path):
    """A SQLite store with something in every part: (its URL, its key file, its references)."""
    path, key = tmp_path / "kiosk" / "assist.db", tmp_path / "kiosk" / "assist.key"
    references = fill(sqlite_settings(path, key))
    return f"sqlite:///{path}", key, references


def rows(url, table):
    """Every row of a table, in its key's order, with the columns both engines have."""
    db = db_module.connect(copying.store_location(url, "--from"), migrate=False)
    try:
        columns = [column for column in copying._columns(db, table) if column != "rowid"]
        key = dict(copying.TABLES)[table]
        return [tuple(row) for row in db.conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(key)}").fetchall()]
    finally:
        db.close()


@pytest.mark.slow
def test_a_store_copied_to_postgresql_and_back_has_every_row_sealed_as_it_was_and_opens_with_its_key(
        source, tmp_path, postgres_url):
    url, key, references = source
    there = copying.copy_store(url, postgres_url)
    back_path = tmp_path / "back" / "assist.db"
    back = copying.copy_store(postgres_url, f"sqlite:///{back_path}")

    for copied in (there, back):
        assert copied.finished and not copied.resumed and copied.differing == []
    counts = {count.table: count.source for count in back.counts}
    assert counts["submissions"] == SUBMISSIONS and counts["addresses"] == 3000
    assert all(counts[table] for table in (
        "status_history", "outbox_events", "backoffice_state", "requests", "sms_texts", "sms_inbound",
        "sms_status_events", "sms_rate", "volunteers", "audit_log", "session_events", "store_key", "sms_secrets",
        "sms_numbers"))
    assert sum(counts.values()) == there.written == back.written
    for table in ("submissions", "status_history", "sms_inbound", "sms_numbers", "volunteers"):
        assert rows(f"sqlite:///{back_path}", table) == rows(url, table)  # sealed bytes identical

    copy = Store.open(sqlite_settings(back_path, key))
    try:
        assert copy.lookup(references[0]) is not None
        assert copy.personal(references[-1])["contact"]["email"] == EMAIL
        assert COUNCIL_NOTES in [entry.notes for entry in copy.lookup(references[0]).history]
        assert gz.search(copy.db, "Town Hall Market Square")  # the full-text index was rebuilt
    finally:
        copy.close()


@pytest.mark.slow
def test_a_store_copied_to_postgresql_takes_new_submissions_after_the_copied_ones(source, postgres_url):
    url, key, references = source
    copying.copy_store(url, postgres_url)
    store = Store.open(load_settings(environ={"ASSIST_STORE__URL": postgres_url, "ASSIST_STORE__KEY_FILE": str(key)}))
    try:
        saved = store.enqueue(draft(idempotency_key="after-the-move"))
        assert saved.id == SUBMISSIONS + 1 and saved.reference not in references
        assert store.personal(references[-1])["contact"]["email"] == EMAIL
    finally:
        store.close()


@pytest.mark.slow
def test_an_interrupted_copy_is_finished_by_running_it_again_with_nothing_written_twice(source, postgres_url):
    url, _, _ = source
    tables = [table for table, _ in copying.TABLES]
    filled = sum(1 for table in tables[:tables.index("session_events")] if rows(url, table))  # a batch each
    told = []
    first = copying.copy_store(url, postgres_url, batch_rows=50, batches=filled + 1,
                               progress=lambda table, done, total: told.append((table, done, total)))
    assert not first.finished and told[-1] == ("session_events", 50, len(rows(url, "session_events")))
    assert len(rows(postgres_url, "session_events")) == 50
    second = copying.copy_store(url, postgres_url, batch_rows=50)
    assert second.finished and second.resumed and second.differing == []
    assert first.written + second.written == sum(count.source for count in second.counts)


@pytest.mark.slow
def test_a_copy_interrupted_in_a_table_keyed_by_text_goes_on_without_doubling(source, postgres_url):
    url, _, _ = source
    tables = [table for table, _ in copying.TABLES]
    before = sum(len(rows(url, table)) for table in tables[:tables.index("sms_inbound")])
    assert len(rows(url, "sms_inbound")) == 2
    first = copying.copy_store(url, postgres_url, batch_rows=1, batches=before + 1)  # one of its two rows
    assert not first.finished and rows(postgres_url, "sms_inbound") == rows(url, "sms_inbound")[:1]
    again = copying.copy_store(url, postgres_url)
    assert again.finished and again.resumed and again.differing == []
    assert first.written + again.written == sum(count.source for count in again.counts)


@pytest.mark.slow
def test_a_destination_holding_another_store_is_refused(source, tmp_path, postgres_url):
    url, _, _ = source
    other = Store.open(load_settings(environ={"ASSIST_STORE__URL": postgres_url,
                                              "ASSIST_STORE__KEY_FILE": str(tmp_path / "other.key")}))
    other.enqueue(draft(idempotency_key="theirs"))
    other.close()
    with pytest.raises(copying.CopyError, match="already holds a store that is not this one.*another key"):
        copying.copy_store(url, postgres_url)


@pytest.mark.slow
def test_a_destination_with_submissions_or_texters_of_its_own_is_refused_even_under_the_same_key(source, tmp_path):
    url, key, _ = source
    theirs = tmp_path / "theirs.db"
    store = Store.open(sqlite_settings(theirs, key))
    numbers.number_key(store)  # the SMS service started there once: its own key for numbers' hashes
    with pytest.raises(copying.CopyError, match="another key for texters' numbers"):
        copying.copy_store(url, f"sqlite:///{theirs}")
    store.db.conn.execute("DELETE FROM sms_secrets")
    store.enqueue(draft(idempotency_key="theirs"))
    store.close()
    with pytest.raises(copying.CopyError, match="submissions this store does not"):
        copying.copy_store(url, f"sqlite:///{theirs}")


def test_a_source_at_an_older_schema_is_sent_to_be_migrated_first_and_a_newer_one_refused(tmp_path):
    old = tmp_path / "old.db"
    db = db_module.connect(old, migrate=False)
    migrations.apply(db, target=5)
    db.close()
    with pytest.raises(copying.CopyError, match=f"schema version 5 and this version of assist copies version "
                                                f"{migrations.LATEST}: open it once"):
        copying.copy_store(f"sqlite:///{old}", f"sqlite:///{tmp_path / 'new.db'}")
    with sqlite3.connect(old) as conn:
        conn.execute("INSERT INTO schema_migrations VALUES (?, 'from the future', '')", (migrations.LATEST + 1,))
    with pytest.raises(StoreTooNew, match="newer version"):
        copying.copy_store(f"sqlite:///{old}", f"sqlite:///{tmp_path / 'new.db'}")
    assert not (tmp_path / "new.db").exists()


@pytest.mark.slow
def test_a_store_in_the_middle_of_a_key_rotation_is_not_copied(source, tmp_path):
    url, key, _ = source
    with sqlite3.connect(url[len("sqlite:///"):]) as conn:  # as a rotation interrupted leaves it
        conn.execute("INSERT INTO key_rotation (id, new_check, new_key_file, started_at) VALUES (1, 'x', 'k', '')")
    with pytest.raises(copying.CopyError, match="a key rotation is under way.*finish it first"):
        copying.copy_store(url, f"sqlite:///{tmp_path / 'copy.db'}")
    assert not (tmp_path / "copy.db").exists()


def test_unknown_urls_a_missing_source_and_one_store_named_twice_are_refused(tmp_path):
    for source, destination, said in [
            ("mysql://ann:secret@db/assist", "sqlite:///x.db", "--from 'mysql://ann:\\*\\*\\*@db/assist' is not"),
            (f"sqlite:///{tmp_path / 'none.db'}", "sqlite:///x.db", "there is no store at"),
            (f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / '.' / 'a.db'}", "name the same store")]:
        with pytest.raises(copying.CopyError, match=said):
            copying.copy_store(source, destination)


def test_the_copy_knows_every_table_of_the_newest_schema(engine, tmp_path, request):
    where = str(tmp_path / "new.db") if engine == "sqlite" else request.getfixturevalue("postgres").migrated_database()
    db = db_module.connect(where)
    try:
        found = {table for table in migrations.tables(db) if not table.startswith(copying.NOT_COPIED)}
    finally:
        db.close()
    assert found == {table for table, _ in copying.TABLES}
