"""Saying "not fixed" by text: NOTFIXED and a reference in every shipped language, a reply to a
status text that names no reference, a short comment, and the bad cases (unknown, mistyped, not
at the council yet), through the real webhook and store."""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest

import locales
from sms import keywords as kw
from sms import templates as tpl
from sync import reference as reference_module
from sync.store.followups import FollowUps
from sync.texting import notices, outbound
from tests.helpers import draft
from tests.sms.sms_support import MOBILE, Phone

SHIPPED = locales.shipped()
_numbers = itertools.count(3000)


def fresh_number() -> str:
    return f"+4479112{next(_numbers):05d}"


def choose(phone: Phone, language: str) -> Phone:
    assert "Which language?" in phone.say("hello")
    phone.say(str(SHIPPED.index(language) + 1))
    return phone


def accepted(store, **changes) -> str:
    """A request the council has, by its displayed reference."""
    saved = store.enqueue(draft(**changes))
    [item] = [claimed for claimed in store.claim("test") if claimed.id == saved.id]
    store.mark_sending(item.id, "test")
    store.mark_accepted(item.id, "test", "4242")
    return saved.display_reference


def followups(store, reference: str) -> list[dict]:
    return FollowUps(store).listing(reference)


@pytest.mark.parametrize("language", SHIPPED)
def test_each_languages_words_for_not_fixed_with_a_reference(client, sms_store, language):
    phone = choose(Phone(client, fresh_number()), language)
    reference = accepted(sms_store)
    words = kw.words(kw.NOT_FIXED_WORDS, language)
    if language != "en":
        assert set(words) - set(kw.words(kw.NOT_FIXED_WORDS, "en")), f"{language}: no words of its own"
    for word in words:
        answer = phone.say(f"{word.upper()} {reference}")
        assert reference in answer, (language, word, answer)
    found = followups(sms_store, reference)
    assert [row["kind"] for row in found] == ["not_fixed"] * len(words)
    assert {row["channel"] for row in found} == {"sms"}


def test_a_comment_after_the_reference_is_kept_sealed_and_never_logged(phone, sms_store, caplog):
    caplog.set_level(logging.DEBUG)
    phone.say("hello")
    phone.say("1")
    reference = accepted(sms_store)
    answer = phone.say(f"NOTFIXED {reference.lower().replace('-', ' ')} the hole by number 9 is back")
    assert answer == tpl.render("followup_saved", "en", reference=reference)
    sealed = sms_store.db.conn.execute("SELECT comment FROM followups").fetchone()[0]
    assert b"hole by number" not in sealed
    assert sms_store.vault.open(sealed) == "the hole by number 9 is back"
    assert "number 9" not in caplog.text and reference in caplog.text


def status_text_sent(store, reference: str) -> None:
    """The council's news about `reference` texted to MOBILE, as the worker does it."""
    submission_id = store.db.conn.execute("SELECT id FROM submissions WHERE reference = ?",
                                          (reference_module.parse(reference),)).fetchone()[0]
    store.record_status(submission_id, "fixed", "Filled in", closed=True)
    notices.queue_status_text(store, submission_id, "fixed", "Filled in")
    [text] = outbound.claim_texts(store, "sender", 10, lease=timedelta(minutes=2), give_up_after=timedelta(days=1))
    outbound.text_sent(store, text.id, "sender", provider="twilio", provider_id="SM" + "9" * 32, provider_status="sent")


def test_a_reply_to_a_status_text_names_the_request_it_was_about(phone, sms_store, clock):
    older = accepted(sms_store, notify_phone=None)
    reference = accepted(sms_store, notify_phone=MOBILE)  # a kiosk resident who asked for texts
    status_text_sent(sms_store, reference)

    answer = phone.say("Still broken")  # the first message this number ever sent us

    assert reference in answer and "not fixed" in answer
    assert len(followups(sms_store, reference)) == 1 and followups(sms_store, older) == []
    clock.advance(days=4)  # days later, a bare "not fixed" is about nothing in particular
    answer = phone.say("not fixed")
    assert kw.shown(kw.NOT_FIXED, "en") in answer and len(followups(sms_store, reference)) == 1


def test_unknown_mistyped_and_not_yet_sent_references_are_answered_and_nothing_saved(phone, sms_store):
    phone.say("hello")
    phone.say("1")
    waiting = sms_store.enqueue(draft()).display_reference  # not at the council yet

    assert "K7Q-4MB-XP9P" in phone.say("NOTFIXED K7Q-4MB-XP9P")  # "We cannot find ..."
    assert "10 letters and numbers" in phone.say("NOTFIXED K7Q-4MB-XP9A")
    assert phone.say(f"NOTFIXED {waiting}") == tpl.render("followup_not_yet", "en", reference=waiting)
    assert "NOTFIXED" in phone.say("NOTFIXED")  # how to use it
    assert sms_store.db.conn.execute("SELECT count(*) FROM followups").fetchone()[0] == 0


def test_words_that_begin_a_report_are_still_a_report(phone, sms_store):
    phone.say("hello")
    phone.say("1")
    answer = phone.say("still broken streetlight outside 4 Station Road")
    assert "not fixed" not in answer
    assert sms_store.db.conn.execute("SELECT count(*) FROM followups").fetchone()[0] == 0
