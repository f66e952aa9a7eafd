"""Errors on Continue, GOV.UK's way: a summary at the top takes the focus, the message sits beside
the field, the page title starts "Error:", and what was typed is kept. Fixing it moves on."""

from __future__ import annotations

import pytest
from textual.widgets import Input

from kiosk.widgets.choices import ChoiceList
from kiosk.widgets.description import DescriptionArea
from kiosk.widgets.fields import ErrorSummary, FieldError
from tests.kiosk.kiosk_support import POTHOLE, keys, open_page, page, tap, type_in, words

CASES = [
    # service, page, answers before it, what is typed (None: nothing chosen), the message
    ("pothole", "attribute.size", {"location": POTHOLE["location"]}, None, "Select how big it is"),
    ("bulky_waste", "attribute.items", {"location": POTHOLE["location"]}, None,
     "Select what you need collected"),
    ("bulky_waste", "attribute.item_count", {"location": POTHOLE["location"], "attribute.items": ["sofa"]}, "lots",
     "Enter a number, like 3"),
    ("missed_bin", "attribute.collection_date", {"location": POTHOLE["location"], "attribute.bin_type": "general"},
     "31/02/2026", "Enter a real date, like 24/11/2026"),
    ("graffiti", "phone", {**{k: v for k, v in POTHOLE.items() if k == "location"}, "attribute.offensive": "no",
                           "description": "", "name": None}, "123",
     "“123” is not a phone number we can use. Enter one like 07700 900 982 or 01632 960 001"),
    ("graffiti", "email", {"location": POTHOLE["location"], "attribute.offensive": "no", "description": "",
                           "name": None, "phone": None}, "ann at example",
     "Enter an email address in the right format, like name@example.com"),
]


@pytest.mark.slow
@pytest.mark.parametrize("service, key, answers, typed, message", CASES, ids=[case[1] for case in CASES])
async def test_each_answer_is_checked_on_continue_with_the_error_summary_first(make_app, service, key, answers,
                                                                              typed, message):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, service, key, answers)
        heading = app.screen.heading_text()
        if typed:
            await type_in(pilot, typed)
        await keys(pilot, "enter")
        summary = app.screen.query_one(ErrorSummary)
        assert summary.display and summary.messages == [message]
        assert app.focused is summary, "the focus moves to the error summary"
        assert app.screen.query_one(FieldError).display and message in words(app)
        assert app.screen.title == f"Error: {heading}"
        assert page(app) == "QuestionScreen" and app.screen.question.key == key
        field = app.screen.field
        if typed:
            assert field.value == typed, "what was typed is kept"
            assert field.has_class("-error")


@pytest.mark.slow
async def test_typing_while_the_summary_has_the_focus_goes_into_the_field_and_a_fix_moves_on(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "bulky_waste", "attribute.item_count",
                        {"location": POTHOLE["location"], "attribute.items": ["sofa"]})
        await type_in(pilot, "three")
        await keys(pilot, "enter")
        assert isinstance(app.focused, ErrorSummary)
        await keys(pilot, "x")
        assert isinstance(app.focused, Input) and app.focused.value == "threex"
        app.focused.value = ""
        await type_in(pilot, "3", "enter")
        assert app.journey.session.answers["attribute.item_count"] == 3
        assert app.screen.question.key == "description"


async def test_a_choice_error_is_fixed_with_a_number_key(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", "attribute.size", {"location": POTHOLE["location"]})
        await keys(pilot, "enter")
        assert app.screen.query_one(ErrorSummary).display
        await keys(pilot, "2")
        assert app.screen.query_one(ChoiceList).selected == ("medium",)
        await keys(pilot, "enter")
        assert app.journey.session.answers["attribute.size"] == "medium"


async def test_errors_come_in_welsh_for_a_welsh_speaker(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", "attribute.size", {"location": POTHOLE["location"]}, language="cy")
        await keys(pilot, "enter")
        summary = app.screen.query_one(ErrorSummary)
        assert summary.messages == ["Dewiswch pa mor fawr ydyw"]
        assert "Mae problem" in words(app) and app.screen.title.startswith("Gwall: ")


async def test_a_description_over_the_limit_is_refused_and_kept(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", "description", {k: v for k, v in POTHOLE.items() if k != "description"})
        assert isinstance(app.screen.field, DescriptionArea)
        await type_in(pilot, "x" * 4001, "enter")
        assert app.screen.query_one(ErrorSummary).messages == ["Your answer must be 4000 characters or fewer"]
        assert len(app.screen.field.text) == 4001


@pytest.mark.slow
async def test_the_location_needs_an_address_or_a_description(make_app, places):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", "location")
        await keys(pilot, "enter")  # Enter in the empty search box searches: it asks for something to search for
        assert "Type a postcode or a street name" in words(app)
        await tap(pilot, app.screen.query_one("#continue"))
        assert app.screen.query_one(ErrorSummary).messages == ["Choose an address, or describe where it is"]
        await keys(pilot, *"zzqx")  # the summary sends typing on to the search box
        assert app.screen.query_one("#search", Input).value == "zzqx"
        await keys(pilot, "enter")
        assert "No addresses found for “zzqx”" in words(app)
        await tap(pilot, app.screen.query_one("#describe-button"))
        await type_in(pilot, "ab", "enter")
        assert app.screen.query_one(ErrorSummary).messages == [
            'Describe the place in a few more words, like "outside the library on Market Square"']
        await keys(pilot, "c")  # typing on from the summary
        await type_in(pilot, " by the church", "enter")
        assert app.journey.session.answers["location"] == {"address_string": "abc by the church"}
