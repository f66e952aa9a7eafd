"""The words residents read, in GOV.UK's patterns: an unanswered choice says what to choose; the
message about a field sits between its hint and the field; the consent question says who asks
(this kiosk), who gets the details (the council) and what becomes of a number given for texts;
contact details a resident chose not to give are left off check your answers; the status page
writes every date one way; the search field has a label of its own; the big reference is centred
under the centred words of the confirmation."""

from __future__ import annotations

import re

import pytest

from kiosk import pages
from kiosk.widgets.bigtext import BigText
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE, keys, open_page, tap, type_in, words

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]
COUNCIL = "Brackenford Borough Council"


def drawn(app, widget) -> list[str]:
    strips = app.screen._compositor.render_strips()
    region = widget.region
    return [strips[y].crop(region.x, region.right).text for y in range(region.y, region.bottom)]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_an_unanswered_choice_says_what_to_choose(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "missed_bin", "attribute.bin_type", {"location": POTHOLE["location"]})
        await keys(pilot, "enter")
        said = words(app)
        assert said.count("Select which bin was not emptied") == 2, said  # the summary and by the field
        assert "Choose an answer" not in said

        await open_page(pilot, "bulky_waste", "attribute.items", {"location": POTHOLE["location"]})
        await keys(pilot, "enter")
        assert "Select what you need collected" in words(app)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_describe_the_place_error_sits_between_the_hint_and_the_field(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "location")
        await tap(pilot, app.screen.query_one("#describe-button"))
        await keys(pilot, "enter")
        part = app.screen.query_one("#describe-part")
        label, hint = part.query_one(".label"), part.query_one(".hint")
        error, field = part.query_one(".field-error"), part.query_one("#place")
        assert error.display and str(error.content) == "Choose an address, or describe where it is"
        assert label.region.y < hint.region.y < error.region.y < field.region.y


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_search_field_has_a_label_above_it(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "location")
        part = app.screen.query_one("#search-part")
        label = part.query_one(".label")
        assert str(label.content) == "Postcode or street" and label.region.area
        assert label.region.y < part.query_one("#search").region.y


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_consent_question_says_who_asks_who_gets_them_and_what_of_the_texts(make_app, size):
    app = make_app()
    contact = {"name": "Ann Resident", "phone": "+447911123456", "email": None}
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "consent", {**POTHOLE, **contact, "updates_by_text": "yes"},
                        contact_wanted=True)
        said = words(app)
        assert f"Can this kiosk pass your contact details on to {COUNCIL}?" in said
        assert "If you say no, they are not passed on, and your phone number is kept only to send the texts" in said
        assert "Can we" not in said

        await open_page(pilot, "pothole", "consent", {**POTHOLE, **contact, "phone": None}, contact_wanted=True)
        said = words(app)
        assert "If you say no, they are not passed on or kept." in said and "texts" not in said


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_contact_details_not_given_are_left_off_check_your_answers(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        said = words(app)
        assert "Not provided" not in said
        assert "What is your name?" not in said and "phone number" not in said
        assert "Can the council contact you about this? (optional) No" in said, "one row, to change one's mind"
        assert [button.name for button in app.screen.query(".change")][-1] == "contact"
        assert "Bigger than a car tyre" in said


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_status_page_writes_every_date_one_way(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await keys(pilot, "enter")
        reference = str(app.screen.query_one("#reference-text").content)
        await app.show(pages.Reference())
        await pilot.pause()
        await type_in(pilot, reference, "enter")
        assert type(app.screen).__name__ == "RequestStatusScreen"
        dates = [str(value.content) for value in app.screen.query(".answer-value")][1:3]
        history = str(app.screen.query_one("#history").content).splitlines()
        one_way = re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}")
        for text in dates + history:
            assert one_way.match(text), (text, dates, history)
        assert "/" not in " ".join(dates + history)


async def test_the_big_reference_is_centred_under_the_centred_heading(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await keys(pilot, "enter")
        big = app.screen.query_one(BigText)
        rows = [row for row in drawn(app, big) if row.strip()]
        assert len(rows) == 4
        left = min(len(row) - len(row.lstrip()) for row in rows)
        right = min(len(row) - len(row.rstrip()) for row in rows)
        assert left > 4 and abs(left - right) <= 1, (left, right)
