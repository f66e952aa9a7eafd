"""The outbound queue: once per dedupe key, claimed with a lease, `sending` before a text leaves
(never sent twice), retried after a backoff, given up when stale, never to a number that
opted out or cannot receive texts."""

from __future__ import annotations

from sync.texting import numbers, outbound
from tests.helpers import PHONE


def test_a_text_is_queued_once_per_dedupe_key_and_claimed_once(store, claim):
    first = outbound.queue_text(store, PHONE, "Your report is fixed", kind="status", dedupe_key="status:1:a",
                                language="en")
    again = outbound.queue_text(store, PHONE, "Your report is fixed", kind="status", dedupe_key="status:1:a",
                                language="en")
    assert first.created and not again.created and again.id == first.id
    one, two = claim(store, "w1"), claim(store, "w2")
    assert [text.body for text in one] == ["Your report is fixed"] and one[0].number == PHONE and two == []
    state = store.db.conn.execute("SELECT state, attempts FROM sms_texts").fetchone()
    assert tuple(state) == ("sending", 1)  # written before it leaves


def test_a_passing_failure_retries_after_a_backoff(store, clock, claim):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store)[0]
    due = outbound.text_retry(store, text.id, "w1", "Twilio 503", attempts=text.attempts)
    assert due > clock.now and claim(store) == []
    clock.now = due
    assert [item.id for item in claim(store)] == [text.id]


def test_a_text_interrupted_while_sending_is_never_sent_twice(store, clock, claim):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    claim(store, "crashed")
    clock.advance(seconds=61)
    assert claim(store, "w2") == []
    row = store.db.conn.execute("SELECT state, error, body FROM sms_texts").fetchone()
    assert row[0] == "failed" and "never to text twice" in row[1] and row[2] is None


def test_a_lost_lease_cannot_record_an_outcome(store, clock, claim):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    text = claim(store, "slow")[0]
    clock.advance(seconds=61)
    claim(store, "other")
    assert not outbound.text_sent(store, text.id, "slow", provider="twilio", provider_id="SM1",
                                  provider_status="queued")


def test_stale_texts_are_given_up(store, clock, claim):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="k", language="en")
    clock.advance(hours=49)
    assert claim(store) == []
    assert store.db.conn.execute("SELECT state FROM sms_texts").fetchone()[0] == "failed"


def test_opted_out_and_unreachable_numbers_are_never_texted(store, claim):
    numbers.opt_out(store, PHONE)
    assert outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="a", language="en").state == "suppressed"
    other = "+447911654321"
    outbound.queue_text(store, other, "x", kind="status", dedupe_key="b", language="en")
    text = claim(store)[0]
    outbound.text_failed(store, text.id, "w1", "Twilio 400 error 21614", number_problem="cannot_receive")
    assert numbers.number_state(store, other)["cannot_receive_at"] is not None
    assert outbound.queue_text(store, other, "y", kind="status", dedupe_key="c", language="en").state == "suppressed"
    assert claim(store) == []


def test_an_opt_out_after_queueing_suppresses_what_waits(store, claim):
    outbound.queue_text(store, PHONE, "x", kind="status", dedupe_key="a", language="en")
    numbers.opt_out(store, PHONE)
    assert claim(store) == [] and outbound.text_states(store)["suppressed"] == 1
