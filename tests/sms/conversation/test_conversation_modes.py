"""Each mode of the conversation on its own: a state and a message in, the new state, the reply,
the events and the action out. No store, no webhook (sms/conversation/)."""

from __future__ import annotations

import logging

import pytest

import locales
from sms import keywords as kw
from sms import templates as tpl
from sms.conversation import gate
from sms.conversation.converse import respond
from sms.conversation.state import (
    Asking,
    ChoosingGroup,
    ChoosingLanguage,
    ChoosingPlace,
    ChoosingService,
    ChoosingStreet,
    Confirming,
    Idle,
)
from sms.recognise import Recognition
from sync import flow
from sync.store import events

LOCATION = flow.validate(flow.LOCATION, "12 High Street, Brackenford")
POTHOLE = {"location": LOCATION, "attribute.size": "small", "attribute.surface": "road"}
#: A pothole report with every question answered or skipped, as it stands at the read-back.
READ_BACK = {**POTHOLE, "description": None, "name": None, "phone": None, "email": None}


def step(ctx, state, text: str, *, expired: bool = False):
    return respond(ctx, state, text, ctx.keywords.match(text), expired=expired)


def confirming() -> Confirming:
    return Confirming(session="session-1", service="pothole", answers=READ_BACK, conv="conv-1")


# -- the read-back ---------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["en", "cy"])
def test_a_number_at_the_read_back_does_not_send_the_request(context, office, language):
    ctx = context(language)
    result = step(ctx, confirming(), "1")
    assert office.drafts == [] and not result.saved
    assert result.state == confirming()  # still waiting for YES
    assert result.reply.text == ctx.say("confirm_again").text and result.action == "asked to confirm again"


@pytest.mark.parametrize("language, word", [("en", "YES"), ("en", "ok"), ("cy", "IE"), ("cy", "anfon"), ("cy", "yes")])
def test_a_yes_word_of_the_residents_language_sends_it_and_gives_the_reference(context, office, language, word):
    result = step(context(language), confirming(), word)
    assert len(office.drafts) == 1 and office.drafts[0].idempotency_key == "sms:conv-1"
    assert result.saved and result.state == Idle() and "K7Q-4MB-XP9P" in result.reply.text
    assert [(event.name, event.service) for event in result.events] == [(events.SUBMITTED, "pothole")]


def test_the_yes_word_of_another_language_does_not_send(context, office):
    welsh_only = next(word for word in kw.words(kw.YES_WORDS, "cy") if word not in kw.words(kw.YES_WORDS, "en"))
    result = step(context("en"), confirming(), welsh_only)
    assert office.drafts == [] and isinstance(result.state, Confirming)


def test_no_at_the_read_back_drops_the_report(context, office):
    result = step(context("en"), confirming(), "NO")
    assert office.drafts == [] and result.state == Idle() and result.action == "not sent"
    assert [(event.name, event.step) for event in result.events] == [(events.ABANDONED, "restart")]


def test_a_read_back_that_cannot_be_saved_stays_for_yes_again(context, office, monkeypatch):
    monkeypatch.setattr(office, "enqueue", lambda draft: None)
    result = step(context("en"), confirming(), "YES")
    assert result.state == confirming() and not result.saved and result.action == "save failed"


def test_answers_the_catalogue_no_longer_takes_stay_for_yes_again_and_are_logged(context, office, monkeypatch,
                                                                                caplog):
    """The service changed under the read-back so the answers no longer make a request: the
    resident is told it could not be sent (and may say YES again); the operator gets one line
    naming the service and the kind of error, never the resident's words."""
    def refused(*args, **kwargs):
        raise ValueError("12 High Street, Brackenford is not an answer")

    monkeypatch.setattr(flow, "to_draft", refused)
    with caplog.at_level(logging.ERROR):
        result = step(context("en"), confirming(), "YES")
    assert office.drafts == [] and result.state == confirming() and result.action == "save failed"
    assert [record.getMessage() for record in caplog.records] == [
        "could not make a request of the confirmed answers (pothole, ValueError)"]


def test_a_no_of_another_offered_language_drops_the_report_too(context, office):
    result = step(context("en"), confirming(), "nac oes")  # Welsh for no, on an English read-back
    assert office.drafts == [] and result.state == Idle() and result.action == "not sent"


# -- questions -----------------------------------------------------------------------------------

def asking(answers=None, question: str = "attribute.size") -> Asking:
    return Asking(session="session-1", service="pothole", answers=answers or {"location": LOCATION},
                  conv="conv-1", question=question)


@pytest.mark.parametrize("reply, value", [("2", "medium"), ("large", "large"), (" 1. ", "small")])
def test_a_list_question_takes_its_numbers_and_its_names(context, reply, value):
    result = step(context("en"), asking(), reply)
    assert isinstance(result.state, Asking) and result.state.answers["attribute.size"] == value
    assert result.state.question == "attribute.surface" and result.reply.shared
    assert [(event.name, event.step) for event in result.events] == [(events.QUESTION, "attribute.surface")]


def test_an_answer_not_on_the_list_asks_again_with_what_was_wrong(context):
    result = step(context("en"), asking(), "purple")
    assert result.state == asking() and "How big is it?" in result.reply.text
    assert result.action == "asked attribute.size (pothole)"


def test_a_new_report_instead_of_an_answer_replaces_the_one_in_hand(context, recogniser):
    recogniser.recognitions["missed bin"] = Recognition("missed_bin", 100.0, None)
    result = step(context("en"), asking(), "missed bin")
    assert isinstance(result.state, Asking) and result.state.service == "missed_bin"
    assert [event.name for event in result.events][:3] == [events.ABANDONED, events.STARTED, events.SERVICE]


def test_the_last_answer_brings_the_read_back(context):
    before_email = {key: value for key, value in READ_BACK.items() if key != "email"}
    result = step(context("en"), asking(before_email, "email"), "SKIP")
    assert isinstance(result.state, Confirming) and "Please check" in result.reply.text
    assert not result.reply.shared  # it carries the resident's answers


# -- places ----------------------------------------------------------------------------------------

def test_a_number_picks_one_of_the_addresses_offered(context):
    options = tuple({"uprn": str(uprn), "address": f"{uprn} Station Road, Oakhurst, BF6 2AD", "postcode": "BF6 2AD",
                     "lat": 51.5, "lon": -0.1} for uprn in (4, 6))
    state = ChoosingPlace(session="session-1", service="pothole", answers={}, conv="conv-1", options=options)
    result = step(context("en"), state, "2")
    assert isinstance(result.state, Asking) and result.state.answers["location"]["address_id"] == "6"
    out_of_range = step(context("en"), state, "7")
    assert "location" not in out_of_range.state.answers  # not a choice: read as an address, too short for one


def test_a_number_picks_one_of_the_towns_a_street_is_in(context):
    state = ChoosingStreet(session="session-1", service="pothole", answers={}, conv="conv-1", number="4",
                           options=(("Station Road", "Oakhurst"), ("Station Road", "Thornley Green")))
    result = step(context("en"), state, "2")
    assert result.state.answers["location"] == {"address_string": "4 Station Road, Thornley Green"}


# -- menus -----------------------------------------------------------------------------------------

def test_a_group_number_brings_its_services_and_a_service_number_starts_it(context):
    groups = step(context("en"), Idle(), "REPORT")
    assert isinstance(groups.state, ChoosingGroup) and "Bins and recycling" in groups.reply.text
    services = step(context("en"), groups.state, "1")
    assert services.state == ChoosingService(session="session-1", group=0, page=0)
    started = step(context("en"), services.state, "1")
    assert isinstance(started.state, Asking) and started.state.service == "missed_bin"
    assert started.state.answers["phone"] == "+447911123456"  # the number texting, as the flow takes it


def test_a_place_alone_gets_the_menu_headed_by_it_and_kept_for_the_report(context, recogniser):
    from sms.places import PlaceGuess
    from sync.places.gazetteer import Place

    place = Place("100", "12 High Street, Brackenford, BF1 1AA", "BF1 1AA", 51.5, -0.1)
    recogniser.places["12 High Street"] = PlaceGuess("address", places=(place,))
    menu = step(context("en"), Idle(), "12 High Street")
    assert isinstance(menu.state, ChoosingGroup) and menu.state.pending["address_id"] == "100"
    assert "12 High Street" in menu.reply.text and not menu.reply.shared


# -- language --------------------------------------------------------------------------------------

def test_first_contact_asks_the_language_and_answers_the_kept_message_in_it(context, recogniser):
    recogniser.recognitions["twll yn y ffordd"] = Recognition("pothole", 100.0, None)
    asked = step(context(None), Idle(), "twll yn y ffordd")
    assert asked.state == ChoosingLanguage(stash="twll yn y ffordd", first=("cy",))  # Welsh offered first
    assert asked.reply_language == tpl.MIXED
    chosen = step(context(None), asked.state, "1")
    assert chosen.language == "cy" and isinstance(chosen.state, Asking) and chosen.state.service == "pothole"
    assert locales.translator("cy")("Where is it?") in chosen.reply.text


def test_lang_in_the_middle_asks_the_question_in_hand_again_in_the_new_language(context):
    menu = step(context("en"), asking(), "LANG")
    assert menu.state == ChoosingLanguage(session="session-1", resume=asking())
    changed = step(context("en"), menu.state, "2")
    assert changed.language == "cy" and changed.state == asking()
    assert locales.translator("cy")("How big is it?") in changed.reply.text


# -- before the conversation -------------------------------------------------------------------------

def test_stop_ends_the_conversation_and_twilios_own_word_gets_no_reply_of_ours(context):
    ctx = context("en")
    result = gate.opting(ctx, asking(), "STOP", ctx.keywords.match("STOP"), opted_out=False)
    assert result.opted == kw.OPT_OUT and result.state == Idle() and result.reply.text == ""


def test_a_number_that_opted_out_is_answered_only_to_opt_in_or_for_help(context):
    ctx = context("en")
    silent = gate.opting(ctx, Idle(), "pothole", ctx.keywords.match("pothole"), opted_out=True)
    assert silent.reply.text == "" and silent.opted is None
    back = gate.opting(ctx, Idle(), "START", ctx.keywords.match("START"), opted_out=True)
    assert back.opted == kw.OPT_IN and "Welcome back" in back.reply.text


def test_an_expired_report_is_abandoned_and_the_resident_told(context):
    result = step(context("en"), asking(), "HELP", expired=True)
    assert [(event.name, event.step) for event in result.events] == [(events.ABANDONED, "expired")]
    assert result.reply.text.startswith("Your unfinished request was cleared after 24 hours")
    assert result.state == Idle()
