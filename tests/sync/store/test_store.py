"""The outbox: saving, references, leases, the state machine, purging and faults."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet

from sync import reference
from sync.config import load_settings
from sync.crypto import KeyProblem, Vault
from sync.store import STATES, Store, TransitionError
from sync.store import db as db_module
from sync.store.db import StoreBusy, StoreFull
from tests.helpers import DESCRIPTION, EMAIL, PHONE, draft


def test_saving_gives_a_reference_and_a_first_status_at_once(store):
    saved = store.enqueue(draft())
    assert saved.created and reference.parse(saved.display_reference) == saved.reference
    found = store.lookup(saved.display_reference.lower().replace("-", " "))
    assert found.state == "queued" and found.service_code == "pothole"
    assert [entry.status for entry in found.history] == ["queued"]
    assert store.counts()["queued"] == 1


def test_a_mistyped_or_unknown_reference_finds_nothing(store):
    saved = store.enqueue(draft())
    typo = saved.reference[:-1] + ("2" if saved.reference[-1] != "2" else "3")
    assert store.lookup(typo) is None
    assert store.lookup(reference.new_reference()) is None
    assert store.lookup("") is None


def test_the_same_idempotency_key_is_saved_once(store):
    first = store.enqueue(draft(idempotency_key="k-1"))
    again = store.enqueue(draft(idempotency_key="k-1", description="different"))
    assert not again.created and again.reference == first.reference
    assert store.counts()["queued"] == 1


@pytest.mark.sqlite_only
def test_the_raw_database_file_holds_no_personal_data_in_clear(store, settings):
    store.enqueue(draft())
    store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(path.read_bytes() for path in settings.store_path.parent.glob("assist.db*"))
    for secret in (PHONE, "7911123456", EMAIL, "Ann Resident", DESCRIPTION, "Station Road"):
        assert secret.encode() not in raw, secret
    assert store.personal(store.listing()[0]["reference"])["contact"]["email"] == EMAIL


def test_the_key_file_is_private_and_another_key_cannot_open_the_data(store, settings, tmp_path):
    assert stat.S_IMODE(os.stat(settings.key_path).st_mode) == 0o600
    saved = store.enqueue(draft())
    other_key = Fernet.generate_key()
    with pytest.raises(KeyProblem, match="cannot be opened with this key"):
        Vault(other_key).open(store.db.conn.execute("SELECT contact FROM submissions WHERE reference = ?",
                                                    (saved.reference,)).fetchone()[0])
    (tmp_path / "other.key").write_bytes(other_key)
    (tmp_path / "other.key").chmod(0o600)
    with pytest.raises(KeyProblem, match="other.key does not hold the key .* was sealed with"):
        where = {"ASSIST_STORE__URL": settings.store.url,
                 "ASSIST_STORE__GAZETTEER_PATH": str(tmp_path / "gazetteer.db")} if settings.on_postgres else \
            {"ASSIST_STORE__PATH": str(settings.store_path)}
        Store.open(load_settings(environ={**where, "ASSIST_STORE__KEY_FILE": str(tmp_path / "other.key")}))


def test_personal_data_sealed_by_an_earlier_version_still_opens(store, settings):
    """Stores written before AES-GCM hold Fernet tokens until they are purged: a kiosk updated
    with requests still in its outbox must send them, contact details and all."""
    import json

    from cryptography.fernet import Fernet

    saved = store.enqueue(draft())
    before = store.personal(saved.reference)
    old = Fernet(settings.key_path.read_bytes().strip())
    sealed = {column: old.encrypt(json.dumps(value).encode()) for column, value in before.items()}
    store.db.conn.execute("UPDATE submissions SET payload = ?, contact = ?, notify_phone = ? WHERE reference = ?",
                          (sealed["payload"], sealed["contact"], sealed["notify_phone"], saved.reference))
    after = store.personal(saved.reference)
    assert after == before and after["contact"]["email"] == EMAIL
    assert DESCRIPTION in json.dumps(after["payload"])


def test_a_sealed_value_altered_on_disk_is_refused_not_misread(store):
    saved = store.enqueue(draft())
    sealed = store.db.conn.execute("SELECT contact FROM submissions WHERE reference = ?",
                                   (saved.reference,)).fetchone()[0]
    altered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    store.db.conn.execute("UPDATE submissions SET contact = ? WHERE reference = ?", (altered, saved.reference))
    with pytest.raises(KeyProblem, match="cannot be opened with this key"):
        store.personal(saved.reference)


def test_a_malformed_key_is_reported_with_where_it_came_from(tmp_path):
    bad = load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "s.db"), "ASSIST_STORE__KEY": "not-a-key"})
    with pytest.raises(KeyProblem, match=r"store.key \(from env ASSIST_STORE__KEY\): not a valid key"):
        Store.open(bad)


def test_claims_are_exclusive_until_the_lease_lapses(store, clock):
    saved = store.enqueue(draft())
    assert [item.reference for item in store.claim("worker-a")] == [saved.reference]
    assert store.claim("worker-b") == []
    clock.advance(seconds=store.lease.total_seconds() + 1)
    [taken] = store.claim("worker-b")
    with pytest.raises(TransitionError, match="lease not held by worker-a"):
        store.mark_sending(taken.id, "worker-a")
    store.mark_sending(taken.id, "worker-b")


def test_an_interrupted_send_comes_back_as_ambiguous(store, clock):
    store.enqueue(draft())
    [item] = store.claim("worker-a")
    store.mark_sending(item.id, "worker-a")  # then the worker dies
    clock.advance(seconds=store.lease.total_seconds() + 1)
    [again] = store.claim("worker-b")
    assert again.ambiguous and again.attempts == 1 and again.first_sent_at is not None


def test_the_state_machine_refuses_impossible_moves(store):
    saved = store.enqueue(draft())
    [item] = store.claim("w")
    with pytest.raises(TransitionError, match="queued -> accepted is not allowed"):
        store.mark_accepted(item.id, "w", "123")
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "0")  # an id of 0 is a real id
    with pytest.raises(TransitionError):
        store.cancel(saved.reference, "too late")
    assert store.lookup(saved.reference).state == "accepted"
    assert {"queued", "sending", "awaiting_id", "accepted", "needs_attention", "cancelled", "exported"} == set(STATES)


def test_transient_failures_back_off_with_full_jitter_and_never_drop(store, clock):
    store.enqueue(draft())
    delays = []
    for attempt in range(40):
        [item] = store.claim("w")
        store.mark_sending(item.id, "w")
        due = store.retry_later(item.id, "w", "connection refused", maybe_sent=False)
        delay = (due - clock.now).total_seconds()
        assert 0 <= delay <= min(600, 10 * 2 ** (attempt + 1))
        delays.append(delay)
        clock.now = due
    assert max(delays) > 100  # it really grew towards the cap
    assert store.counts()["queued"] == 1 and store.listing()[0]["attempts"] == 40


def test_a_send_that_may_have_arrived_stays_sending_and_honours_retry_after(store, clock):
    store.enqueue(draft())
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    due = store.retry_later(item.id, "w", "timed out after sending", maybe_sent=True, retry_after=42)
    assert (due - clock.now).total_seconds() == 42
    assert store.claim("w") == []
    clock.now = due
    [again] = store.claim("w")
    assert again.ambiguous


def test_a_paused_back_office_is_not_claimed_for(store):
    store.enqueue(draft())
    store.set_backoffice_state("default", paused=True, paused_reason="401 from the council")
    assert store.claim("w") == []
    assert store.backoffice_states()["default"]["paused_reason"] == "401 from the council"
    store.set_backoffice_state("default", paused=False)
    assert len(store.claim("w")) == 1


def test_acceptance_purges_contact_details_but_keeps_the_number_to_text(store):
    saved = store.enqueue(draft())
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "4521")
    personal = store.personal(saved.reference)
    assert personal["contact"] is None and personal["notify_phone"] == PHONE
    store.record_status(item.id, "closed", "Filled in today", closed=True)
    store.purge()
    assert store.personal(saved.reference)["notify_phone"] is None


def test_retention_purges_finished_submissions_but_never_unsent_ones(store, clock):
    waiting = store.enqueue(draft(idempotency_key="waiting"))
    done = store.enqueue(draft(idempotency_key="done"))
    item = next(i for i in store.claim("w") if i.reference == done.reference)
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "1")
    clock.advance(days=91)
    assert store.purge()["expired"] == 1
    assert store.personal(done.reference) == {"payload": None, "contact": None, "notify_phone": None}
    assert store.personal(waiting.reference)["payload"]["description"] == DESCRIPTION
    assert [entry.status for entry in store.lookup(done.reference).history] == ["queued", "accepted"]


def test_council_statuses_are_recorded_once_per_change(store):
    saved = store.enqueue(draft())
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "77")
    assert store.record_status(item.id, "in_progress", "Crew booked")
    assert not store.record_status(item.id, "in_progress", "Crew booked")
    found = store.lookup(saved.reference)
    assert found.council_status == "in_progress"
    assert [(e.status, e.source) for e in found.history][-1] == ("in_progress", "council")


@pytest.mark.sqlite_only
def test_a_full_disk_refuses_the_new_submission_and_keeps_the_old(store):
    kept = store.enqueue(draft(idempotency_key="kept"))
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreFull, match="no room left"):
        for index in range(200):
            store.enqueue(draft(idempotency_key=f"new-{index}", description="x" * 3000))
    store.db.conn.execute("PRAGMA max_page_count = 1073741823")
    assert store.lookup(kept.reference).state == "queued"
    assert store.db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.sqlite_only  # SQLite's busy timeout on its file
def test_a_locked_database_waits_then_says_so(settings, tmp_path):
    holder = db_module.connect(settings.store_path)
    holder.conn.execute("BEGIN IMMEDIATE")
    try:
        impatient = db_module.connect(settings.store_path, busy_timeout_ms=200)
        with pytest.raises(StoreBusy, match="busy in another program"):
            with db_module.write(impatient):
                pass
    finally:
        holder.conn.execute("ROLLBACK")


def test_sync_now_and_reachability_pass_through_the_store(store):
    assert not store.take_request("sync_now")
    store.request("sync_now")
    store.request("sync_now")
    assert store.take_request("sync_now") and not store.take_request("sync_now")
    store.set_backoffice_state("default", reachable=False, error="connection refused")
    state = store.backoffice_states()["default"]
    assert state["reachable"] == 0 and state["last_error"] == "connection refused"


def test_the_schema_refuses_unknown_states_and_channels(store):
    with pytest.raises(ValueError):
        store.enqueue(draft(channel="fax"))
    store.enqueue(draft())
    with pytest.raises(sqlite3.IntegrityError):
        store.db.conn.execute("UPDATE submissions SET state = 'lost'")


def test_history_is_in_the_order_it_was_learnt_whatever_the_councils_clock_says(store, clock):
    saved = store.enqueue(draft())
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "9")
    store.record_status(item.id, "closed", "Done", clock.now - timedelta(hours=3), closed=True)
    assert [entry.status for entry in store.lookup(saved.reference).history] == ["queued", "accepted", "closed"]
