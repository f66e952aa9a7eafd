"""The conversation: language first, keywords in every shipped language, one-shot reports, the
read-back, expiry, rate limits, and an opt-out honoured all the way to the worker's texts."""

from __future__ import annotations

import asyncio
import itertools

import pytest

import locales
from sms import keywords as kw
from sms import templates as tpl
from sync.config import load_settings
from sync.store import Store
from sync.texting import conversations, notices, numbers, outbound, retention, segments
from sync.texting.sender import TextSender
from tests.sms.sms_fakes import FakeTwilio
from tests.sms.sms_support import MOBILE, OTHER_MOBILE, Phone, english, serve, sms_env, stop, welsh

SHIPPED = locales.shipped()
_numbers = itertools.count(1000)


def fresh_number() -> str:
    return f"+4479111{next(_numbers):05d}"


def choose(phone: Phone, language: str) -> Phone:
    """A new number that has chosen `language` at first contact."""
    menu = phone.say("hello")
    assert "Which language?" in menu
    phone.say(str(SHIPPED.index(language) + 1))
    return phone


def saved(store) -> list[tuple]:
    return store.db.conn.execute("SELECT reference, channel, service_code, language FROM submissions").fetchall()


def go_to_confirm(phone: Phone) -> str:
    """A fly-tipping report up to its read-back (no contact shared)."""
    phone.say("fly tipping behind the library")
    for answer in ("1", "1", "SKIP", "SKIP"):
        phone.say(answer)
    phone.say("yes")  # texts about it: yes
    return phone.say("no")  # share contact details: no


# -- language --------------------------------------------------------------------------------------

def test_first_contact_asks_the_language_in_each_language_and_answers_the_first_message_after(phone, sms_store):
    menu = phone.say("pothole outside 12 High Street")
    named = [f"{i} {locales.native_name(code)}" for i, code in enumerate(SHIPPED, 1)]
    assert menu.splitlines()[-len(SHIPPED):] == named
    if "cy" in SHIPPED:
        assert locales.translator("cy")(tpl.LANGUAGE_QUESTION) in menu  # Welsh is offered, in Welsh
    answer = phone.say("1")
    assert "How big is it?" in answer  # the first message was kept and understood: only the size is asked
    assert numbers.number_state(sms_store, MOBILE)["language"] == "en"


@pytest.mark.skipif("cy" not in SHIPPED, reason="Welsh not shipped")
def test_welsh_is_remembered_and_every_reply_after_is_in_welsh(phone, sms_store):
    welsh(phone)
    answer = phone.say("twll yn y ffordd tu allan i 12 High Street")
    t = locales.translator("cy")
    assert t("How big is it?") in answer and "How big" not in answer
    assert numbers.number_state(sms_store, MOBILE)["language"] == "cy"
    assert tpl.final(answer, "cy") == answer and segments.segments(answer) <= 3


def test_the_language_can_be_changed_in_the_middle_and_the_question_comes_again(phone):
    english(phone)
    assert "How big is it?" in phone.say("pothole outside 12 High Street")
    assert "Which language?" in phone.say("LANG")
    again = phone.say(str(SHIPPED.index(SHIPPED[-1]) + 1))
    assert locales.translator(SHIPPED[-1])("How big is it?") in again


def test_a_language_is_not_asked_when_only_one_is_offered(env, clock, gazetteer_template):
    import shutil

    from sms.app import create_app
    from tests.sms.sms_support import TestClient

    settings = load_settings(environ=sms_env(env, ASSIST_LANGUAGES__ENABLED="en"))
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, settings.store_path)
    store = Store.open(settings, clock=clock)
    with TestClient(create_app(settings, store=store)) as test_client:
        assert "How big is it?" in Phone(test_client).say("pothole outside 12 High Street")
    store.close()


# -- keywords in every shipped language --------------------------------------------------------------

def keyword_cases():
    for language in SHIPPED:
        for action in kw.WORDS:
            # YES goes through a whole report for each of a language's words: seconds each
            marks = [pytest.mark.slow] if action == kw.YES else []
            yield pytest.param(language, action, id=f"{language}-{action}", marks=marks)


@pytest.mark.parametrize("language, action", list(keyword_cases()))
def test_every_keyword_in_every_shipped_language(client, sms_store, language, action):
    words = kw.words(kw.WORDS[action], language)
    assert words, f"{language}: no words for {action}"
    for word in words:
        for variant in (word.upper(), word.lower(), f" {word.title()}. "):
            phone = choose(Phone(client, fresh_number()), language)
            check_keyword(phone, sms_store, language, action, word, variant)


def check_keyword(phone: Phone, store, language: str, action: str, word: str, variant: str) -> None:
    CHECKS[action](Said(phone, store, language, word, variant))


class Said:
    """One keyword variant about to be texted by a phone that chose `language`."""

    def __init__(self, phone: Phone, store, language: str, word: str, variant: str) -> None:
        self.phone, self.store, self.language, self.word, self.variant = phone, store, language, word, variant
        self.t = locales.translator(language)

    def state(self):
        return numbers.number_state(self.store, self.phone.sender)


def check_opt_out(said: Said) -> None:
    phone, language, variant = said.phone, said.language, said.variant
    answer = phone.say(variant)
    assert said.state()["opted_out_at"], (language, variant)
    if said.word in kw.TWILIO_OPT_OUT:
        assert answer == ""  # Twilio confirms its own words itself
    else:
        assert kw.shown(kw.OPT_IN, language) in answer
    assert phone.say("pothole outside 12 High Street") == ""  # nothing more, ever


def check_opt_in(said: Said) -> None:
    said.phone.say("STOP")
    answer = said.phone.say(said.variant)
    assert said.state()["opted_out_at"] is None and answer, (said.language, said.variant)


def check_new(said: Said) -> None:
    said.phone.say("pothole outside 12 High Street")
    answer = said.phone.say(said.variant)
    assert said.t(tpl.STARTED_AGAIN).split(".")[0] in answer
    assert said.store.db.conn.execute("SELECT count(*) FROM sms_conversations c JOIN sms_numbers n "
                                      "ON n.id = c.number_id WHERE n.id = ?", (said.state()["id"],)).fetchone()[0] == 0


def check_skip(said: Said) -> None:
    phone, store = said.phone, said.store
    phone.say("pothole outside 12 High Street")
    phone.say("3")
    phone.say("1")
    answer = phone.say(said.variant)  # skips the name: the description came with the message
    assert said.t("What is your email address? (optional)") in answer
    conversation = conversations.load_conversation(store.db.conn, store, said.state()["id"])
    assert conversation.state["answers"]["name"] is None  # not taken as a name


def check_yes_or_no(said: Said, action: str) -> None:
    go_to_confirm(said.phone)
    before = len(saved(said.store))
    answer = said.phone.say(said.variant)
    if action == kw.YES:
        assert len(saved(said.store)) == before + 1, (said.language, said.variant, answer)
    else:
        assert len(saved(said.store)) == before and said.t(tpl.NOT_SENT) in answer


def check_help(said: Said) -> None:
    assert "01632 960000" in said.phone.say(said.variant)


def check_language(said: Said) -> None:
    assert locales.native_name(SHIPPED[-1]) in said.phone.say(said.variant)


def check_reference_follows(said: Said) -> None:
    """STATUS, or NOTFIXED with a reference this kiosk does not know (tests/sms/test_sms_followups.py)."""
    assert "K7Q-4MB-XP9P" in said.phone.say(f"{said.variant.strip()} K7Q-4MB-XP9P")


def check_report(said: Said) -> None:
    assert said.t(tpl.GROUP_MENU) in said.phone.say(said.variant)


def check_yes(said: Said) -> None:
    check_yes_or_no(said, kw.YES)


def check_no(said: Said) -> None:
    check_yes_or_no(said, kw.NO)


def check_greeting(said: Said) -> None:
    welcome = said.t(tpl.WELCOME).split(".")[0].format(council="Brackenford Borough Council")
    assert welcome in said.phone.say(said.variant)


CHECKS = {
    kw.OPT_OUT: check_opt_out,
    kw.OPT_IN: check_opt_in,
    kw.HELP: check_help,
    kw.LANGUAGE: check_language,
    kw.NEW: check_new,
    kw.STATUS: check_reference_follows,
    kw.REPORT: check_report,
    kw.SKIP: check_skip,
    kw.YES: check_yes,
    kw.NO: check_no,
    kw.NOT_FIXED: check_reference_follows,
    kw.GREETING: check_greeting,
}


def test_cancel_stops_all_texts_and_never_just_abandons(phone, sms_store):
    english(phone)
    phone.say("pothole outside 12 High Street")
    assert phone.say("CANCEL") == ""
    assert numbers.number_state(sms_store, MOBILE)["opted_out_at"] is not None
    assert phone.say("3") == ""
    assert phone.say("START")
    assert "How big" not in phone.say("3")  # the conversation went with the opt-out


def test_new_and_menu_abandon_the_conversation_without_opting_out(phone, sms_store):
    english(phone)
    phone.say("pothole outside 12 High Street")
    assert "Started again" in phone.say("MENU")
    assert numbers.number_state(sms_store, MOBILE)["opted_out_at"] is None
    assert "Sorry, we could not tell" in phone.say("3")


# -- reports -----------------------------------------------------------------------------------------

def test_a_one_shot_report_asks_only_what_is_missing_reads_back_and_saves_on_yes(phone, sms_store):
    english(phone)
    first = phone.say("missed recycling bin 12 High St")
    assert "Which day" in first  # the service, place and bin type were all in the message
    assert "Missed bin" in first and "Which bin" not in first
    for answer in ("SKIP", "SKIP", "SKIP"):
        phone.say(answer)
    phone.say("YES")  # texts: yes
    readback = phone.say("NO")  # contact details: no
    assert readback.startswith("Please check: Missed bin collection; 12 High Street")
    assert "Recycling bin" in readback and segments.segments(readback) <= 2
    done = phone.say("YES")
    reference, channel, service, language = saved(sms_store)[0]
    assert channel == "sms" and service == "missed_bin" and language == "en"
    shown = f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"
    assert shown in done and "We will text you" in done
    personal = sms_store.personal(reference)
    assert personal["notify_phone"] == MOBILE and personal["contact"] is None
    assert personal["payload"]["location"]["address_id"]
    assert personal["payload"]["description"] == "missed recycling bin 12 High St"
    assert sms_store.take_request("sync_now")


def test_several_addresses_are_offered_as_numbered_choices_never_guessed(phone):
    english(phone)
    choices = phone.say("pothole outside 4 Station Road")
    assert "Which address?" in choices
    assert "1 4 Station Road, Brackenford" in choices and "Thornley Green" in choices and "Little Ashby" in choices
    assert "How big" in phone.say("2")


def test_a_report_from_the_menus_with_a_misspelt_street_and_a_wrong_answer(phone, sms_store):
    english(phone)
    assert "Bins and recycling" in phone.say("REPORT")
    services = phone.say("2")
    assert "1 Pothole" in services
    assert "Where is it?" in phone.say("1")
    streets = phone.say("staton rd")
    assert "Which Station Road?" in streets
    assert "How big" in phone.say("1")
    wrong = phone.say("9")
    assert wrong.startswith("Choose one of the numbered options.") and "How big" in wrong


@pytest.mark.parametrize("language", ["en", "cy"])
def test_a_number_at_the_read_back_is_not_a_yes_and_sends_nothing(client, sms_store, language):
    """The read-back asks for YES: "1" (the first of a yes-or-no question's options elsewhere)
    does not send the request, in English or in Welsh; the resident is asked for YES again."""
    if language not in SHIPPED:
        pytest.skip(f"{language} not shipped")
    phone = english(Phone(client)) if language == "en" else welsh(Phone(client))
    t = locales.translator(language)
    assert t("Please check: {summary}. Reply {yes} to send it, or {new} to start again.").split(":")[0] in (
        go_to_confirm(phone))
    again = phone.say("1")
    assert saved(sms_store) == []
    assert again == tpl.render("confirm_again", language)
    assert "reference" not in again.lower()
    assert len(saved(sms_store)) == 0 and phone.say(kw.shown(kw.YES, language))
    assert len(saved(sms_store)) == 1


def test_the_read_back_shortens_long_answers_to_fit(phone):
    english(phone)
    phone.say("pothole outside 12 High Street " + "and it is really very deep indeed " * 40)
    phone.say("3")
    phone.say("1")
    phone.say("SKIP")
    phone.say("SKIP")
    phone.say("NO")
    readback = phone.say("NO")
    assert readback.startswith("Please check:") and "Reply YES to send it" in readback
    assert segments.segments(readback) <= 2 and "..." in readback


def test_status_by_reference(phone, sms_store):
    english(phone)
    go_to_confirm(phone)
    phone.say("YES")
    reference = saved(sms_store)[0][0]
    shown = f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"
    submission_id = sms_store.db.conn.execute("SELECT id FROM submissions").fetchone()[0]
    sms_store.record_status(submission_id, "in_progress", "A crew will clear it on Friday")
    answer = phone.say(f"status {reference.lower()}")
    assert shown in answer and "in progress" in answer and "A crew will clear it on Friday" in answer
    assert shown in phone.say(shown)  # the reference alone works too
    assert "does not look right" in phone.say("STATUS K7Q-4MB-XP9Y")
    assert "cannot find K7Q-4MB-XP9P" in phone.say("STATUS K7Q-4MB-XP9P")


# -- expiry ------------------------------------------------------------------------------------------

def test_a_conversation_expires_and_the_resident_is_told(phone, clock, sms_store):
    english(phone)
    assert "How big" in phone.say("pothole outside 12 High Street")
    clock.advance(hours=24, seconds=1)
    answer = phone.say("3")
    assert "cleared after 24 hours" in answer and "How big" not in answer
    assert "Where on the street" not in answer


def test_a_conversation_within_its_expiry_carries_on(phone, clock):
    english(phone)
    phone.say("pothole outside 12 High Street")
    clock.advance(hours=23)
    assert "Where on the street" in phone.say("3")


def test_one_conversation_per_number(client, sms_store):
    first, second = english(Phone(client, MOBILE)), english(Phone(client, OTHER_MOBILE))
    first.say("pothole outside 12 High Street")
    second.say("missed bin 12 High St")
    assert "Where on the street" in first.say("3")
    assert "Which day" in second.say("2")
    assert "graffiti" in first.say("graffiti on the wall at 5 nelson street").lower()  # replaces the first one
    assert sms_store.db.conn.execute("SELECT count(*) FROM sms_conversations").fetchone()[0] == 2


# -- rate limits -----------------------------------------------------------------------------------

@pytest.fixture
def limited(env, clock, gazetteer_template):
    import shutil

    from sms.app import create_app
    from tests.sms.sms_support import TestClient

    settings = load_settings(environ=sms_env(env, ASSIST_SMS__RATE_LIMIT_PER_NUMBER_PER_HOUR="4",
                                             ASSIST_SMS__RATE_LIMIT_GLOBAL_PER_MINUTE="10"))
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, settings.store_path)
    store = Store.open(settings, clock=clock)
    with TestClient(create_app(settings, store=store)) as test_client:
        yield test_client, store
    store.close()


def test_the_per_number_limit_answers_politely_once_then_silently(limited, clock):
    test_client, store = limited
    phone = english(Phone(test_client))
    phone.say("hi")
    phone.say("hi")
    assert "a lot of messages" in phone.say("hi")
    assert phone.say("hi") == "" and phone.say("REPORT") == ""
    phone.say("STOP")  # an opt-out is honoured whatever the limits
    assert numbers.number_state(store, MOBILE)["opted_out_at"] is not None
    phone.say("START")
    clock.advance(hours=1)
    assert "What is it about?" in phone.say("REPORT")


def test_the_global_limit_answers_politely_once_then_silently(limited, clock):
    test_client, _store = limited
    answers = [Phone(test_client, fresh_number()).say("hello") for _ in range(12)]
    assert all("Which language?" in answer for answer in answers[:10])
    assert "very busy" in answers[10] and answers[11] == ""
    clock.advance(minutes=1)
    assert "Which language?" in Phone(test_client, fresh_number()).say("hello")


# -- an opt-out reaches the worker's texts --------------------------------------------------------------

def test_after_stop_a_status_change_sends_nothing(phone, sms_store, sms_settings):
    english(phone)
    go_to_confirm(phone)
    phone.say("YES")
    submission_id = sms_store.db.conn.execute("SELECT id FROM submissions").fetchone()[0]
    assert phone.say("STOP") == ""
    twilio = FakeTwilio(sms_settings.twilio.account_sid, sms_settings.twilio.auth_token)
    server = serve(twilio.app)
    try:
        sms_store.record_status(submission_id, "fixed", "Cleared")
        queued = notices.queue_status_text(sms_store, submission_id, "fixed", "Cleared", settings=sms_settings)
        assert queued.state == "suppressed"
        report = asyncio.run(TextSender(sms_store, sms_settings, twilio_base_url=server).send_due())
        assert report.sent == 0 and twilio.requests == []
    finally:
        stop(server)
    assert outbound.text_states(sms_store)["suppressed"] == 1


def test_a_welsh_opt_out_word_is_confirmed_in_welsh(client, sms_store):
    if "cy" not in SHIPPED:
        pytest.skip("Welsh not shipped")
    phone = english(Phone(client))
    english_words = kw.words(kw.WORDS[kw.OPT_OUT], "en")
    welsh_only = [word for word in kw.words(kw.WORDS[kw.OPT_OUT], "cy") if word not in english_words]
    assert welsh_only, "Welsh needs its own opt-out words"
    answer = phone.say(welsh_only[0].upper())
    assert kw.shown(kw.OPT_IN, "cy") in answer
    assert numbers.number_state(sms_store, MOBILE)["opted_out_at"] is not None


def test_logs_carry_message_sids_and_references_never_numbers_or_words(phone, sms_store, caplog):
    import logging

    caplog.set_level(logging.INFO)
    english(phone)
    go_to_confirm(phone)
    phone.say("YES")
    phone.say("STATUS K7Q-4MB-XP9P")
    phone.say("STOPIO")
    reference = saved(sms_store)[0][0]
    assert f"{reference[:3]}-{reference[3:6]}-{reference[6:]}" in caplog.text and "SM" in caplog.text
    for secret in (MOBILE, MOBILE[3:], "fly tipping", "library", "Market Square"):
        assert secret not in caplog.text, secret


def test_the_webhook_keeps_the_twiml_of_questions_and_menus_but_nothing_with_a_residents_words(phone, sms_app,
                                                                                               sms_store):
    """Questions, menus and help are the same for everyone, and their TwiML is kept in memory;
    a read-back, a choice of addresses, a reference or a status note is not, as it would outlive
    the purge there."""
    english(phone)
    assert "Which address?" in phone.say("pothole outside 4 Station Road")
    assert "How big" in phone.say("2")
    phone.say("NEW")
    assert "12 High Street" in phone.say("12 High Street")  # a place alone: the menu, headed by it
    assert "Bins and recycling" in phone.say("REPORT")
    readback = go_to_confirm(phone)
    assert "Market Square" in readback
    done = phone.say("YES")
    reference = saved(sms_store)[0][0]
    shown = f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"
    submission_id = sms_store.db.conn.execute("SELECT id FROM submissions").fetchone()[0]
    sms_store.record_status(submission_id, "in_progress", "A crew will clear it on Friday")
    assert "A crew will clear it" in phone.say(f"STATUS {shown}")
    assert shown in done

    kept = " ".join(sms_app.state.sms.shared_twiml.values())
    assert "How big" in kept and "Bins and recycling" in kept  # a question, and a menu
    for personal in ("Station Road", "High Street", "Market Square", "behind the library", shown, "A crew"):
        assert personal not in kept, personal


def test_a_number_the_purge_removes_is_gone_from_the_webhooks_memory_too(client, sms_app, sms_settings, sms_store,
                                                                          clock):
    """The webhook keeps recent numbers in memory between their texts; once the purge (run by
    the worker, in another process) removes a number from the store, the webhook forgets it
    by its next message."""
    english(Phone(client, MOBILE))
    assert "How big" in Phone(client, MOBILE).say("pothole outside 12 High Street")  # a report: the phone answer too
    memory = sms_app.state.sms.bot.memory
    assert MOBILE in repr(vars(memory))
    clock.advance(days=sms_settings.store.retention_days + 2)
    worker_side = Store.open(sms_settings, clock=clock)
    try:
        assert retention.purge(worker_side)["numbers"] == 1
    finally:
        worker_side.close()
    english(Phone(client, OTHER_MOBILE))
    assert MOBILE not in repr(vars(memory)) and MOBILE[3:] not in repr(vars(memory))
    assert OTHER_MOBILE in repr(vars(memory))


def test_a_busy_warning_given_by_a_turn_that_was_undone_is_given_again(limited):
    """The one polite "busy" answer of a minute belongs to a message that was kept: a retry whose
    step is rolled back must not use it up for the rest of the batch."""
    from sms.messages import Inbound

    test_client, store = limited
    for _ in range(9):
        Phone(test_client, fresh_number()).say("hello")
    bot = test_client.app.state.sms.bot
    retry = Inbound(sid="SM" + "r" * 32, sender=fresh_number(), body="hello")
    bot.handle_many([retry])  # the tenth of the minute: answered, and its MessageSid claimed
    batch = [Inbound(sid=retry.sid, sender=retry.sender, body="hello"),  # Twilio retries it: rolled back
             Inbound(sid="SM" + "x" * 32, sender=fresh_number(), body="hello")]
    answers = bot.handle_many(batch)
    assert "very busy" in answers[1].text, answers
