"""A new number's first texts (issue 17), through the signed webhook: HELP is answered at once,
a first message in any shipped language is recognised and its language offered first, the report
kept; "we will text you in English" is never dropped; addresses offered say which town."""

from __future__ import annotations

import shutil

import pytest

import locales
from sms import keywords as kw
from sms import templates as tpl
from sms.app import create_app
from sync.config import load_settings
from sync.store import Store
from sync.texting import numbers, segments
from tests.sms.sms_support import MOBILE, Phone, TestClient, sms_env

SHIPPED = locales.shipped()


def help_in(language: str) -> str:
    return segments.normalise(locales.translator(language)(tpl.HELP_FIRST).format(status=kw.shown(kw.STATUS, language)))


# -- 9. HELP from a new number -----------------------------------------------------------------------

def test_help_from_a_new_number_is_help_in_english_and_welsh_in_two_segments_then_the_menu(phone, sms_store):
    reply = phone.say("HELP")
    assert "Which language?" not in reply and "Cymraeg" not in reply.splitlines()[-1]
    assert help_in("en") in reply and help_in("cy") in reply
    assert segments.segments(reply) <= 2
    assert numbers.number_state(sms_store, MOBILE)["language"] is None  # nothing was chosen for them
    menu = phone.say("pothole outside 12 High Street")
    assert "Which language?" in menu  # the language question comes after
    assert "How big is it?" in phone.say(str(SHIPPED.index("en") + 1))


@pytest.mark.parametrize("word", ["help", "INFO", "Help."])
def test_help_while_the_language_menu_waits_keeps_the_first_message(phone, word):
    assert "Which language?" in phone.say("pothole outside 12 High Street")
    assert help_in("en") in phone.say(word)
    assert "How big is it?" in phone.say("1")  # the kept report goes on


@pytest.mark.parametrize("enabled, other", [("en,pl,cy", "pl"), ("ar,en", "ar"), ("cy,en", "cy")])
def test_help_is_in_english_and_the_first_other_language_offered_whoever_sends_it(env, clock, gazetteer_template,
                                                                                 enabled: str, other: str):
    settings = load_settings(environ=sms_env(env, ASSIST_LANGUAGES__ENABLED=enabled))
    settings.store_path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(gazetteer_template, settings.store_path)
    store = Store.open(settings, clock=clock)
    try:
        with TestClient(create_app(settings, store=store)) as client:
            reply = Phone(client).say("HELP")
    finally:
        store.close()
    assert help_in("en") in reply and help_in(other) in reply and segments.segments(reply) <= 2
