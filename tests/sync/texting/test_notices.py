"""The texts a resident asked for: each council update once, their reference once (not to SMS
residents), within the segment budget; and a store from before texting (migration 4) gets them too."""

from __future__ import annotations

from sync.store import Store, migrations
from sync.store import db as db_module
from sync.texting import notices
from sync.texting.segments import segments
from tests.helpers import PHONE, draft


def submitted(store, **changes) -> int:
    saved = store.enqueue(draft(**changes))
    return saved.id


def test_status_texts_follow_the_council_once_per_change_and_skip_the_first_open(store, settings, claim):
    submission_id = submitted(store)
    assert notices.queue_status_text(store, submission_id, "open", None, settings=settings) is None
    store.record_status(submission_id, "in_progress", "Crew booked")
    first = notices.queue_status_text(store, submission_id, "in_progress", "Crew booked", settings=settings)
    again = notices.queue_status_text(store, submission_id, "in_progress", "Crew booked", settings=settings)
    assert first.created and not again.created
    store.record_status(submission_id, "fixed", "Filled the pothole")
    fixed = notices.queue_status_text(store, submission_id, "fixed", "Filled the pothole", settings=settings)
    body = claim(store)[-1].body
    assert fixed.created and "Brackenford Borough Council" in body and "fixed" in body and "Filled the pothole" in body
    store.record_status(submission_id, "open", "Reopened")  # reopened: worth a text
    assert notices.queue_status_text(store, submission_id, "open", "Reopened", settings=settings).created


def test_no_texting_number_means_no_status_text(store, settings):
    submission_id = submitted(store, notify_phone=None)
    assert notices.queue_status_text(store, submission_id, "fixed", None, settings=settings) is None


def test_kiosk_residents_get_their_reference_by_text_once_and_sms_residents_do_not(store, settings, claim):
    kiosk = submitted(store)
    sms = submitted(store, channel="sms")
    assert notices.queue_reference_texts(store, settings=settings) == 1
    assert notices.queue_reference_texts(store, settings=settings) == 0
    assert notices.queue_reference_text(store, sms, settings=settings) is None
    body = claim(store)[0].body
    reference = store.db.conn.execute("SELECT reference FROM submissions WHERE id = ?", (kiosk,)).fetchone()[0]
    assert f"{reference[:3]}-{reference[3:6]}-{reference[6:]}" in body and "Reply STOP" in body


def test_status_texts_fit_their_budget_with_the_longest_notes(store, settings, claim):
    submission_id = submitted(store)
    store.record_status(submission_id, "not_councils_responsibility", "z" * 3000)
    notices.queue_status_text(store, submission_id, "not_councils_responsibility", "z" * 3000, settings=settings)
    body = claim(store)[0].body
    assert segments(body) <= 2 and body.endswith("...")


def test_migration_4_applies_on_a_store_with_data(tmp_path):
    from cryptography.fernet import Fernet

    from sync.crypto import Vault

    path = tmp_path / "old.db"
    old = db_module.connect(path, migrate=False)
    migrations.apply(old, target=3)
    vault = Vault(Fernet.generate_key())
    saved = Store(old, vault, device_id="kiosk-2025").enqueue(draft())  # a resident's request, before texting
    old.conn.close()
    db = db_module.connect(path)
    tables = {row[0] for row in db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sms_numbers", "sms_inbound", "sms_rate", "sms_conversations", "sms_texts", "sms_status_events",
            "sms_secrets"} <= tables
    store = Store(db, vault, device_id="kiosk-2026")
    assert store.personal(saved.reference)["notify_phone"] == PHONE  # kept, and texting can use it
    assert notices.queue_reference_texts(store) == 1
