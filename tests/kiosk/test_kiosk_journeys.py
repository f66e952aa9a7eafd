"""Whole journeys, driven as residents would drive them: by keyboard, and by touch alone, in English
and in Welsh, for a report with an urgent notice, a report with contact details and texts, and a
request for a service. What ends up in the outbox is what the resident said, nothing more."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kiosk import messages
from kiosk.screens.check import CheckAnswersScreen
from kiosk.screens.confirmation import ConfirmationScreen
from kiosk.widgets.bigtext import BigText
from kiosk.widgets.choices import ChoiceItem, ChoiceList
from sync import reference
from tests.kiosk.kiosk_support import choice_number, choose, keys, page, posted, screen_text, tap, type_in, words

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow


async def start(pilot, language: str = "en", journey: str = "report") -> None:
    await choose(pilot, language)
    assert page(pilot.app) == "WelcomeScreen"
    await keys(pilot, "enter")
    assert page(pilot.app) == "TaskScreen"
    await choose(pilot, journey)


async def test_a_pothole_report_by_keyboard_with_the_urgent_notice_and_a_gazetteer_address(make_app, store, places):
    app = make_app()
    seen = []
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        assert page(app) == "LanguageScreen"
        await start(pilot)
        await choose(pilot, "Roads, pavements and street lights")
        await choose(pilot, "pothole")
        assert page(app) == "UrgentScreen"
        assert "phone 01632 960000 now" in words(app)
        await keys(pilot, "enter")
        assert page(app) == "LocationScreen"
        await keys(pilot, *"bf1 4aa", "enter")  # typed key by key
        assert "3 addresses found" in screen_text(app)
        await keys(pilot, "2", "enter")
        assert app.screen.heading_text() == "How big is it?"
        await keys(pilot, "3", "enter")
        await keys(pilot, "1", "enter")
        assert app.screen.heading_text() == "Describe the pothole (optional)"
        await type_in(pilot, "Deep hole by the bus stop", "enter")
        assert page(app) == "ContactScreen"
        await choose(pilot, "no")
        assert isinstance(app.screen, CheckAnswersScreen)
        text = screen_text(app)
        assert "1 Market Square, Brackenford, BF1 4AA" in text and "Bigger than a car tyre" in text
        await keys(pilot, "enter")
        assert isinstance(app.screen, ConfirmationScreen)
        shown = app.screen.query_one("#reference-text").content
        assert reference.parse(shown) and app.screen.query_one(BigText).text == shown
        assert "Your reference is" in screen_text(app)

    said = posted(seen)
    assert [type(message).__name__ for message in said] == [
        "LanguageChosen", "StartPressed", "TaskChosen", "GroupChosen", "ServiceChosen", "NoticeRead",
        "Answered", "Answered", "Answered", "Answered", "ContactChosen", "SendRequested", "Saved", "SessionEnded"]
    assert [message.key for message in said if isinstance(message, messages.Answered)] == [
        "location", "attribute.size", "attribute.surface", "description"]
    assert said[-1].reason == "saved" and said[4].code == "pothole" and said[10].wanted is False
    saved = [message for message in seen if isinstance(message, messages.Saved)]
    assert len(saved) == 1 and reference.display(saved[0].reference) == shown
    assert store.counts()["queued"] == 1
    personal = store.personal(shown)
    assert personal["payload"] == {
        "location": {"address_id": "100000000002", "address_string": "1 Market Square, Brackenford, BF1 4AA",
                     "lat": 52.1202, "long": -1.2702},
        "attributes": {"size": "large", "surface": "road"}, "description": "Deep hole by the bus stop"}
    assert personal["contact"] is None and personal["notify_phone"] is None
    found = store.lookup(shown)
    assert (found.service_code, found.language) == ("pothole", "en")
    assert store.take_request("sync_now"), "saving asks the worker to sync now"
    picked = {id(message): message for message in seen if isinstance(message, ChoiceList.Picked)}  # once per hop
    assert [message.key for message in picked.values()][:2] == ["en", "report"]


async def test_a_missed_bin_in_welsh_with_contact_details_and_texts(make_app, store):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await start(pilot, "cy")
        assert app.t.code == "cy"
        await choose(pilot, "Bins and recycling")
        await choose(pilot, "missed_bin")
        assert page(app) == "LocationScreen"
        assert "Ble mae" in screen_text(app) or app.screen.heading_text() != "Where is it?"
        await tap(pilot, app.screen.query_one("#describe-button"))
        await type_in(pilot, "outside 3 Market Square", "enter")
        assert app.screen.heading_text() == app.t("Which bin was not emptied?")
        await keys(pilot, "2", "enter")
        await type_in(pilot, "23/11/2026", "enter")
        await keys(pilot, "enter")  # nothing more to say
        assert page(app) == "ContactScreen"
        await choose(pilot, "yes")
        await type_in(pilot, "Ann Resident", "enter")
        await type_in(pilot, "07911 123456", "enter")
        await keys(pilot, "enter")  # no email
        assert app.screen.question.key == "updates_by_text"
        await keys(pilot, "1", "enter")
        assert app.screen.question.key == "consent"
        await keys(pilot, "1", "enter")
        assert isinstance(app.screen, CheckAnswersScreen)
        text = screen_text(app)
        assert app.t("Check your answers before sending your report") in text
        assert "Check your answers" not in text
        assert app.t("Recycling bin") in text and "23 Tachwedd 2026" in text
        await keys(pilot, "enter")
        assert isinstance(app.screen, ConfirmationScreen)
        text = screen_text(app)
        assert app.t("Your reference is") in text and "456" in text
        shown = app.screen.receipt.reference

    personal = store.personal(shown)
    assert personal["payload"]["location"] == {"address_string": "outside 3 Market Square"}
    assert personal["payload"]["attributes"] == {"bin_type": "recycling", "collection_date": "2026-11-23"}
    assert personal["contact"] == {"name": "Ann Resident", "phone": "+447911123456"}
    assert personal["notify_phone"] == "+447911123456"
    assert store.lookup(shown).language == "cy"


async def test_a_bulky_waste_request_with_several_items_and_a_number(make_app, store, places):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(pilot, journey="request")
        assert page(app) == "ServiceScreen", "one group only: straight to its services"
        await choose(pilot, "bulky_waste")
        await type_in(pilot, "station road", "enter")
        await keys(pilot, "1", "enter")
        assert app.screen.question.kind == "multivaluelist"
        await keys(pilot, "1", "3", "enter")
        await type_in(pilot, "2", "enter")
        await type_in(pilot, "In the front garden", "enter")
        await choose(pilot, "no")
        text = screen_text(app)
        assert "Sofa or armchair, Fridge or freezer" in text
        assert str(app.screen.query_one("#continue").label) == "Send request"
        await keys(pilot, "enter")
        shown = app.screen.receipt.reference
        assert "Your request is saved" in screen_text(app)
    payload = store.personal(shown)["payload"]
    assert payload["attributes"] == {"items": ["sofa", "fridge"], "item_count": 2}
    assert payload["location"]["address_string"] == "4 Station Road, Brackenford, BF2 7QT"
    assert payload["description"] == "In the front garden"


async def test_fly_tipping_by_touch_alone(make_app, store):
    """Every step by tapping: choices, the describe link, the fields (typing still needs a keyboard,
    on screen or real), Continue and Send."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:

        async def tap_choice(key: str) -> None:
            item = next(item for item in app.screen.query(ChoiceItem) if item.choice.key == key)
            await tap(pilot, item)

        async def tap_continue() -> None:
            await tap(pilot, app.screen.query_one("#continue"))

        await tap_choice("en")
        await tap_continue()
        await tap_choice("report")
        await tap_choice("Street cleaning")
        await tap_choice("fly_tipping")
        assert "asbestos" in words(app)
        await tap_continue()
        await tap(pilot, app.screen.query_one("#describe-button"))
        await tap(pilot, app.screen.query_one("#place"))
        await type_in(pilot, "the lay-by on Mill Lane")
        depth = len(app.screen_stack)
        await tap_continue()
        assert len(app.screen_stack) == depth + 1  # one tap, one page: not the next question twice
        await tap_choice("bags")
        await tap_choice("tyres")
        await tap_continue()
        await tap_choice("car")
        await tap_continue()
        await tap_continue()  # the description is optional
        await tap_choice("no")
        assert isinstance(app.screen, CheckAnswersScreen)
        await tap_continue()
        assert isinstance(app.screen, ConfirmationScreen)
        shown = app.screen.receipt.reference
        await tap(pilot, app.screen.query_one("#finish"))
        assert page(app) == "LanguageScreen"
    payload = store.personal(shown)["payload"]
    assert payload["attributes"] == {"waste_type": ["bags", "tyres"], "amount": "car"}


async def test_number_keys_pick_and_arrows_and_enter_work_without_a_mouse(make_app, settings):
    app = make_app(settings=replace(settings, languages=replace(settings.languages, enabled=["en", "cy", "pl"])))
    async with app.run_test() as pilot:
        await keys(pilot, "down", "enter")  # the second language, by arrow and Enter
        assert app.journey.session.language == "cy"
        await keys(pilot, "escape")
        assert page(app) == "LanguageScreen"
        await keys(pilot, "1", "enter")
        await keys(pilot, choice_number(app, "status"))
        assert page(app) == "ReferenceScreen"
        await keys(pilot, "escape", "escape", "escape")
        assert page(app) == "LanguageScreen"
        await keys(pilot, "9")  # three languages offered, no ninth: nothing happens
        assert page(app) == "LanguageScreen"


async def test_a_service_without_an_urgent_notice_starts_with_the_question(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await start(pilot)
        await choose(pilot, "Street cleaning")
        await choose(pilot, "graffiti")
        assert page(app) == "LocationScreen"
