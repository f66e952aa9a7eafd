"""A report by text in Welsh and in Polish, end to end: the language chosen with its own keyword,
the problem reported and confirmed in that language, the submission recorded in it, and the
council's news texted back in it (the reference back office over loopback, Twilio faked at its
HTTP boundary, the real sync worker in between)."""

from __future__ import annotations

import asyncio
import shutil

import pytest

import locales
from sms import keywords as kw
from sms import templates as tpl
from sms.app import create_app
from sync import flow
from sync.config import load_settings
from sync.open311.worker import Worker
from sync.store import Store
from sync.texting import conversations, numbers, wording
from sync.texting.sender import TextSender
from tests.sms.sms_support import MOBILE, Phone, TestClient, sms_env

SHIPPED = locales.shipped()


def worker_rounds(store, settings, twilio, count: int = 1) -> None:
    async def go():
        worker = Worker(store, settings, text_sender=TextSender(store, settings, twilio_base_url=twilio.url))
        try:
            for _ in range(count):
                worker._last_status = float("-inf")  # look for the council's news now, not in a minute
                await worker.tick()
        finally:
            await worker.aclose()
    asyncio.run(go())


def own_word(action: str, language: str) -> str:
    """The language's own word for `action` (not one of the English words every language takes)."""
    english = kw.words(kw.WORDS[action], "en")
    return next(word for word in kw.words(kw.WORDS[action], language) if word not in english).upper()


def answer_until_read_back(phone: Phone, store, service, language: str, first: str) -> str:
    """Answer what the bot asks as a resident would (the first choice, no contact details shared,
    texts wanted), in the language's own words, until the answers are read back."""
    number_id = numbers.number_state(store, phone.sender)["id"]
    reply = first
    for _ in range(12):
        state = conversations.load_conversation(store.db.conn, store, number_id).state
        if state.get("mode") == "confirm":
            return reply
        question = next(q for q in flow.questions(service, state["answers"]) if q.key == state["question"])
        if question.key == "updates_by_text":
            words = kw.shown(kw.YES, language)
        elif question.kind == "yesno":
            words = kw.shown(kw.NO, language)
        elif question.choices:
            words = "1"
        else:
            assert not question.required, question.key
            words = kw.shown(kw.SKIP, language)
        reply = phone.say(words)
    raise AssertionError(f"no read-back after twelve answers: {reply}")


@pytest.mark.parametrize("language", ["cy", "pl"])
def test_a_report_by_text_is_recorded_in_its_language_and_the_councils_news_comes_back_in_it(
        language, env, council_server, run, twilio, gazetteer_template):
    if language not in SHIPPED:
        pytest.skip(f"locales/{language} has not landed yet")
    url = council_server(api_key="k")
    settings = load_settings(environ=sms_env(env, ASSIST_BACKOFFICE__URL=url, ASSIST_BACKOFFICE__API_KEY="k"))
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, settings.store_path)
    store = Store.open(settings)
    t = locales.translator(language)
    service = store.catalogue().get("pothole")
    with TestClient(create_app(settings, store=store)) as client:
        phone = Phone(client, MOBILE)
        menu = phone.say(own_word(kw.LANGUAGE, language))  # IAITH, JĘZYK: the language menu, at first contact
        assert locales.native_name(language) in menu
        chosen = phone.say(locales.native_name(language))  # "Cymraeg", "Polski": named in itself
        assert any(chosen.startswith(t(message).split("{")[0].strip()) for message in (tpl.LANGUAGE_SET, tpl.WELCOME))
        assert numbers.number_state(store, MOBILE)["language"] == language
        first = phone.say(f"{t(service.name)} 12 High Street")
        assert first.startswith(t(service.name))
        read_back = answer_until_read_back(phone, store, service, language, first)
        assert read_back.startswith(t(tpl.READ_BACK).split(":")[0]) and "Please check" not in read_back
        done = phone.say(own_word(kw.YES, language))
        reference, recorded_language, channel = store.db.conn.execute(
            "SELECT reference, language, channel FROM submissions").fetchone()
    assert (recorded_language, channel) == (language, "sms")
    assert f"{reference[:3]}-{reference[3:6]}-{reference[6:]}" in done

    worker_rounds(store, settings, twilio)
    assert store.lookup(reference).state == "accepted"
    assert twilio.requests == []  # a resident who texted in had their reference in the conversation
    request_id = store.db.conn.execute("SELECT service_request_id FROM submissions").fetchone()[0]
    run("council", "update", request_id, "--status", "fixed", "--note", "OK 12/11", "--db", str(url.db_path))
    worker_rounds(store, settings, twilio)
    [news] = twilio.requests
    assert news["To"] == MOBILE and reference[:3] in news["Body"] and "OK 12/11" in news["Body"]
    assert t(wording.STATUS_LABELS["fixed"]) in news["Body"] and "is now" not in news["Body"]
    store.close()
