"""Purging texting's personal data, keeping an opt-out as a hash alone."""

from __future__ import annotations

from sync.store import db as db_module
from sync.store import iso
from sync.texting import intake, numbers, outbound, retention
from tests.helpers import PHONE


def test_purging_removes_texting_personal_data_and_keeps_opt_outs_as_a_hash(store, clock, claim):
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
    again = outbound.queue_text(store, "+447911654321", "x", kind="s", dedupe_key="z", language="en")
    assert again.state == "suppressed"
