"""Delivery statuses: taken once each, only moving a text forward, and a provider's word that a
number opted out kept on the number."""

from __future__ import annotations

from sync.texting import deliveries, numbers, outbound
from tests.helpers import PHONE


def test_delivery_statuses_are_taken_once_and_only_move_forward(store, claim):
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


def test_error_21610_in_a_callback_marks_the_number_opted_out(store, claim):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store)[0]
    outbound.text_sent(store, text.id, "w1", provider="twilio", provider_id="SMabc", provider_status="queued")
    deliveries.record_delivery(store, "SMabc", "failed", "21610")
    assert numbers.number_state(store, PHONE)["opted_out_at"] is not None
