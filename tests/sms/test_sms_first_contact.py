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


# -- 11. a first message in another language ---------------------------------------------------------

FIRST_REPORTS = {
    "cy": "mae twll mawr yn y ffordd tu allan i 12 High Street",
    "pl": "duża dziura w jezdni przed 12 High Street, proszę naprawić",
    "ro": "este o groapă mare în drum lângă 12 High Street",
    "pa": "12 High Street ਦੇ ਬਾਹਰ ਸੜਕ ਵਿੱਚ ਵੱਡਾ ਟੋਆ ਹੈ",
    "ur": "12 High Street کے باہر سڑک میں بڑا گڑھا ہے",
    "pt": "há um buraco grande na estrada em frente ao 12 High Street",
    "es": "hay un bache muy grande en la calzada delante del 12 High Street",
    "ar": "في حفرة كبيرة في الطريق قدام 12 High Street",
    "bn": "12 High Street এর সামনে রাস্তায় বড় গর্ত",
}


@pytest.mark.parametrize("language", [code for code in SHIPPED if code != "en"])
def test_a_first_report_in_any_language_is_offered_its_language_first_and_goes_on_once_chosen(phone, sms_store,
                                                                                            language):
    menu = phone.say(FIRST_REPORTS[language]).splitlines()
    t = locales.translator(language)
    assert menu[:2] == [segments.normalise(t(tpl.LANGUAGE_QUESTION)), tpl.LANGUAGE_QUESTION]  # in it, and English
    assert menu[2] == f"1 {locales.native_name(language)}"
    assert sorted(line.split(" ", 1)[1] for line in menu[2:]) == sorted(locales.native_name(code) for code in SHIPPED)
    answer = phone.say("1")
    assert t("How big is it?") in answer  # the report goes on in its language: only the size is asked
    assert numbers.number_state(sms_store, MOBILE)["language"] == language


def test_arabic_script_that_could_be_arabic_or_urdu_offers_both_first(phone):
    menu = phone.say("المجرور مسدود 12 High Street").splitlines()  # letters Arabic and Urdu share
    options = [line.split(" ", 1) for line in menu if line[:1].isdigit()]
    assert [number for number, _name in options[:2]] == ["1", "2"]
    assert {name for _number, name in options[:2]} == {locales.native_name("ar"), locales.native_name("ur")}
    questions = {segments.normalise(locales.translator(code)(tpl.LANGUAGE_QUESTION)) for code in ("ar", "ur")}
    assert questions <= set(menu[:3]) and tpl.LANGUAGE_QUESTION in menu[:3]


def test_an_english_first_message_keeps_the_usual_menu(phone):
    menu = phone.say("pothole outside 12 High Street").splitlines()
    assert menu[-len(SHIPPED):] == [f"{i} {locales.native_name(code)}" for i, code in enumerate(SHIPPED, 1)]


def test_a_language_offered_first_can_still_be_declined_for_another(phone, sms_store):
    menu = phone.say(FIRST_REPORTS["pl"]).splitlines()
    english_at = next(line for line in menu if line.endswith(" English")).split()[0]
    assert "How big is it?" in phone.say(english_at)
    assert numbers.number_state(sms_store, MOBILE)["language"] == "en"


# -- 12. "we will text you in ..." is never dropped ------------------------------------------------

def language_set(language: str) -> str:
    t = locales.translator(language)
    return segments.normalise(t(tpl.LANGUAGE_SET).format(lang=kw.shown(kw.LANGUAGE, language)))


@pytest.mark.parametrize("language", [code for code in SHIPPED if code != "en"])
def test_the_language_chosen_is_confirmed_even_when_the_first_question_fills_the_reply(phone, language):
    phone.say(FIRST_REPORTS[language])
    replies = [phone.say("1"), phone.say("1")]  # the language, then the pothole's size
    assert sum(language_set(language) in reply for reply in replies) == 1  # said once: now, or with the next
    assert locales.translator(language)("How big is it?") in replies[0]  # the question is never the one put off
    assert all(segments.segments(reply) <= segments.budget(language) for reply in replies)


def test_a_confirmation_owed_is_kept_while_the_conversation_is_saved_idle():
    from sms.conversation.state import Asking, Idle, from_dict, to_dict

    assert from_dict(to_dict(Idle(notice="language_set"))) == Idle(notice="language_set")
    asking = Asking(session="s", service="pothole", question="size", notice="language_set")
    assert from_dict(to_dict(asking)) == asking
    assert to_dict(Idle()) == {}


# -- 12. addresses offered say which town -------------------------------------------------------------

TOWNS = ("Brackenford", "Little Ashby", "Thornley Green")


@pytest.mark.parametrize("language", ["en", "cy", "pl", "ar"])
@pytest.mark.parametrize("where", ["12 Station Road", "16 Station Road"])
def test_addresses_offered_by_text_say_which_town_they_are_in(phone, language, where):
    """Station Road is in three of the council's towns: "Flat 3, 16 Station Road" alone does not say which."""
    phone.say("hello")
    phone.say(str(SHIPPED.index(language) + 1))
    reply = phone.say(f"{locales.translator(language)('Pothole')} {where}")
    options, town = [], ""
    for line in reply.splitlines():
        if line.endswith(":") and line[:-1] in TOWNS:
            town = line[:-1]  # the town said once, above its addresses
        elif line.split(" ", 1)[0].isdigit():
            options.append(line if any(name in line for name in TOWNS) else f"{line}, {town}".rstrip(", "))
    assert len(options) >= 3, reply
    assert all(any(name in option for name in TOWNS) for option in options), reply
    assert segments.segments(reply) <= segments.budget(language)
