"""Texting's store side: sealed numbers and their keyed hash, the outbound queue and its lease,
status and reference texts, delivery statuses, purging, and the migration."""

from __future__ import annotations

from datetime import timedelta

from sync.store import Store, iso, migrations
from sync.store import db as db_module
from sync.texting import deliveries, intake, notices, numbers, outbound, retention
from sync.texting.segments import encoding, normalise, segments, units
from tests.helpers import PHONE, draft

LEASE = timedelta(seconds=60)
GIVE_UP = timedelta(hours=48)


def claim(store, owner="w1", limit=10):
    return outbound.claim_texts(store, owner, limit, lease=LEASE, give_up_after=GIVE_UP)


def test_numbers_are_sealed_and_found_again_by_a_keyed_hash(store, settings):
    outbound.queue_text(store, PHONE, "Hello", kind="test", dedupe_key="k1", language="en")
    outbound.queue_text(store, PHONE, "Again", kind="test", dedupe_key="k2", language="en")
    assert store.db.conn.execute("SELECT count(*) FROM sms_numbers").fetchone()[0] == 1
    store.db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    raw = b"".join(path.read_bytes() for path in settings.store_path.parent.glob("assist.db*"))
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


def test_a_text_is_queued_once_per_dedupe_key_and_claimed_once(store):
    first = outbound.queue_text(store, PHONE, "Your report is fixed", kind="status", dedupe_key="status:1:a", language="en")
    again = outbound.queue_text(store, PHONE, "Your report is fixed", kind="status", dedupe_key="status:1:a", language="en")
    assert first.created and not again.created and again.id == first.id
    one, two = claim(store, "w1"), claim(store, "w2")
    assert [text.body for text in one] == ["Your report is fixed"] and one[0].number == PHONE and two == []
    state = store.db.conn.execute("SELECT state, attempts FROM sms_texts").fetchone()
    assert tuple(state) == ("sending", 1)  # written before it leaves


def test_a_passing_failure_retries_after_a_backoff(store, clock):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store)[0]
    due = outbound.text_retry(store, text.id, "w1", "Twilio 503", attempts=text.attempts)
    assert due > clock.now and claim(store) == []
    clock.now = due
    assert [item.id for item in claim(store)] == [text.id]


def test_a_text_interrupted_while_sending_is_never_sent_twice(store, clock):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    claim(store, "crashed")
    clock.advance(seconds=61)
    assert claim(store, "w2") == []
    row = store.db.conn.execute("SELECT state, error, body FROM sms_texts").fetchone()
    assert row[0] == "failed" and "never to text twice" in row[1] and row[2] is None


def test_a_lost_lease_cannot_record_an_outcome(store, clock):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store, "slow")[0]
    clock.advance(seconds=61)
    claim(store, "other")
    assert not outbound.text_sent(store, text.id, "slow", provider="twilio", provider_id="SM1", provider_status="queued")


def test_stale_texts_are_given_up(store, clock):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    clock.advance(hours=49)
    assert claim(store) == []
    assert store.db.conn.execute("SELECT state FROM sms_texts").fetchone()[0] == "failed"


def test_opted_out_and_unreachable_numbers_are_never_texted(store):
    numbers.opt_out(store, PHONE)
    assert outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="a", language="en").state == "suppressed"
    other = "+447911654321"
    outbound.queue_text(store, other, "x", kind="status", dedupe_key="b", language="en")
    text = claim(store)[0]
    outbound.text_failed(store, text.id, "w1", "Twilio 400 error 21614", number_problem="cannot_receive")
    assert numbers.number_state(store, other)["cannot_receive_at"] is not None
    assert outbound.queue_text(store, other, "y", kind="status", dedupe_key="c", language="en").state == "suppressed"
    assert claim(store) == []


def test_an_opt_out_after_queueing_suppresses_what_waits(store):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="a", language="en")
    numbers.opt_out(store, PHONE)
    assert claim(store) == [] and outbound.text_states(store)["suppressed"] == 1


def submitted(store, **changes) -> int:
    saved = store.enqueue(draft(**changes))
    return saved.id


def test_status_texts_follow_the_council_once_per_change_and_skip_the_first_open(store, settings):
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


def test_kiosk_residents_get_their_reference_by_text_once_and_sms_residents_do_not(store, settings):
    kiosk = submitted(store)
    sms = submitted(store, channel="sms")
    assert notices.queue_reference_texts(store, settings=settings) == 1
    assert notices.queue_reference_texts(store, settings=settings) == 0
    assert notices.queue_reference_text(store, sms, settings=settings) is None
    body = claim(store)[0].body
    reference = store.db.conn.execute("SELECT reference FROM submissions WHERE id = ?", (kiosk,)).fetchone()[0]
    assert f"{reference[:3]}-{reference[3:6]}-{reference[6:]}" in body and "Reply STOP" in body


def test_status_texts_fit_their_budget_with_the_longest_notes(store, settings):
    submission_id = submitted(store)
    store.record_status(submission_id, "not_councils_responsibility", "z" * 3000)
    notices.queue_status_text(store, submission_id, "not_councils_responsibility", "z" * 3000, settings=settings)
    body = claim(store)[0].body
    assert segments(body) <= 2 and body.endswith("...")


def test_delivery_statuses_are_taken_once_and_only_move_forward(store):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store)[0]
    # a callback can beat the API's own answer: it is kept and applied when the answer is recorded
    assert deliveries.record_delivery(store, "SMabc", "sent")
    outbound.text_sent(store, text.id, "w1", provider="twilio", provider_id="SMabc", provider_status="queued")
    assert store.db.conn.execute("SELECT provider_status FROM sms_texts").fetchone()[0] == "sent"
    assert deliveries.record_delivery(store, "SMabc", "delivered")
    assert not deliveries.record_delivery(store, "SMabc", "delivered")
    assert deliveries.record_delivery(store, "SMabc", "sending")
    assert store.db.conn.execute("SELECT provider_status FROM sms_texts").fetchone()[0] == "delivered"


def test_error_21610_in_a_callback_marks_the_number_opted_out(store):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store)[0]
    outbound.text_sent(store, text.id, "w1", provider="twilio", provider_id="SMabc", provider_status="queued")
    deliveries.record_delivery(store, "SMabc", "failed", "21610")
    assert numbers.number_state(store, PHONE)["opted_out_at"] is not None


def test_purging_removes_texting_personal_data_and_keeps_opt_outs_as_a_hash(store, clock):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store)[0]
    outbound.text_sent(store, text.id, "w1", provider="twilio", provider_id="SMabc", provider_status="queued")
    numbers.opt_out(store, "+447911654321")
    with db_module.write(store.db) as conn:
        intake.claim_inbound(conn, "SMin1", iso(store.clock()))
    clock.advance(days=91)
    counts = retention.purge(store)
    assert counts["texts"] == 1 and counts["numbers"] == 1 and counts["numbers_kept_as_opt_out"] == 1
    assert counts["inbound"] == 1
    assert numbers.number_state(store, "+447911654321")["opted_out_at"] is not None  # still honoured
    assert store.db.conn.execute("SELECT count(*) FROM sms_numbers WHERE number IS NOT NULL").fetchone()[0] == 0
    assert outbound.queue_text(store, "+447911654321", "x", kind="s", dedupe_key="z", language="en").state == "suppressed"


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


def test_segments_gsm_extension_and_ucs2(store):
    assert segments("") == 0 and segments("a" * 160) == 1 and segments("a" * 161) == 2
    assert segments("a" * 306) == 2 and segments("a" * 307) == 3
    assert segments("{" * 80) == 1 and segments("{" * 81) == 2  # extension characters count twice
    assert segments("a" * 152 + "€" + "a" * 10) == 2
    assert segments("ŵ" * 70) == 1 and segments("ŵ" * 71) == 2
    assert segments("ŵ" * 134) == 2 and segments("ŵ" * 135) == 3
    assert units("😀") == 2 and segments("😀" * 35) == 1 and segments("😀" * 36) == 2
    assert encoding("Café é") == "GSM-7" and encoding("Caf\u0065\u0301") == "UCS-2"
    assert encoding(normalise("Caf\u0065\u0301")) == "GSM-7"


def test_normalising_keeps_text_out_of_ucs2_for_nothing_and_keeps_welsh_letters():
    smart = "It\u2019s \u201cfixed\u201d \u2013 thanks\u2026\u00a0\u200b"
    assert normalise(smart) == "It's \"fixed\" - thanks... "
    assert encoding(normalise(smart)) == "GSM-7"
    assert normalise("Diolch – mae’r gŵr yn ôl") == "Diolch - mae'r gŵr yn ôl"
    assert encoding(normalise("gŵr")) == "UCS-2"
