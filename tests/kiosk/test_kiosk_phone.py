"""The phone question at the kiosk (issue 17, point 3): the numbers its own message gives as
examples are taken, texts are offered for mobiles only, and a refusal shows what was typed."""

from __future__ import annotations

import pytest

import locales
from kiosk import bidi
from kiosk.widgets.fields import ErrorSummary
from sync.answers import Invalid, phone_number
from tests.kiosk.kiosk_support import POTHOLE, keys, open_page, type_in, words

BEFORE_PHONE = {"location": POTHOLE["location"], "attribute.offensive": "no", "description": "", "name": None}


@pytest.mark.slow
@pytest.mark.parametrize("typed, texts_offered", [
    ("07700 900 982", True), ("07911 654321", True),  # a drama-range mobile; one the library thinks unallocated
    ("01632 960 001", False),  # a drama-range landline
    ("07012 345678", False), ("07640 123456", False),  # a personal number and a pager: not mobiles
])
async def test_a_number_of_a_valid_uk_format_is_taken_and_texts_offered_only_for_mobiles(make_app, typed,
                                                                                       texts_offered):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "graffiti", "phone", BEFORE_PHONE)
        await type_in(pilot, typed, "enter")
        assert app.screen.question.key == "email", words(app)
        await keys(pilot, "enter")  # no email
        assert (app.screen.question.key == "updates_by_text") is texts_offered


@pytest.mark.slow
async def test_a_refused_number_is_shown_back_to_the_resident(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "graffiti", "phone", BEFORE_PHONE)
        await type_in(pilot, "0113 496 000", "enter")
        message = "“0113 496 000” is not a phone number we can use. Enter one like 07700 900 982 or 01632 960 001"
        assert app.screen.query_one(ErrorSummary).messages == [message]
        assert app.screen.question.key == "phone"


@pytest.mark.parametrize("language", ["ar", "ur"])
def test_what_was_typed_keeps_its_order_in_a_right_to_left_message(language):
    with pytest.raises(Invalid) as caught:
        phone_number("0113 496 000")
    shown = bidi.visual(caught.value.render(locales.translator(language)), "R")
    assert "0113 496 000" in shown and "07700 900 982" in shown and "01632 960 001" in shown
