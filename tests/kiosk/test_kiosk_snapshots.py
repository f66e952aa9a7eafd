"""What residents see, pinned as pictures at 80x24 and 120x40: the start, a question with an error,
check your answers and the confirmation; and in Welsh and Arabic, the first page in the language, a
question with an error and the confirmation (Arabic: right-aligned, each line in display order as
foot is sent it; a browser showing the SVG reorders it again, so view it with the text left as it
is, `unicode-bidi: bidi-override`). A fixed reference, a fixed clock and no cursor blink keep them
the same from run to run; `--snapshot-update` redraws them after a deliberate change."""

from __future__ import annotations

import pytest

from kiosk import messages
from sync import reference
from tests.kiosk.kiosk_support import POTHOLE, keys, open_page, type_in

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

SIZES = [(80, 24), (120, 40)]
FIXED_REFERENCE = "K7Q4MBXP9P"


@pytest.fixture(autouse=True)
def fixed_reference(monkeypatch):
    monkeypatch.setattr(reference, "new_reference", lambda: FIXED_REFERENCE)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_start(snap_compare, make_app, size):
    assert snap_compare(make_app(), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_question_with_an_error(snap_compare, make_app, size):
    async def run_before(pilot):
        await open_page(pilot, "bulky_waste", "attribute.item_count",
                        {"location": POTHOLE["location"], "attribute.items": ["sofa", "fridge"]})
        await type_in(pilot, "a few", "enter")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


CONTACT = {"name": "Ann Resident", "phone": "+447911123456", "email": None, "updates_by_text": "yes", "consent": "yes"}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_check_answers(snap_compare, make_app, size):
    async def run_before(pilot):
        await open_page(pilot, "pothole", None, {**POTHOLE, **CONTACT}, contact_wanted=True)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_confirmation(snap_compare, make_app, size):
    async def run_before(pilot):
        await open_page(pilot, "pothole", None, {**POTHOLE, **CONTACT}, contact_wanted=True)
        await keys(pilot, "enter")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


#: What a resident might type where a number is wanted, in each language.
NOT_A_NUMBER = {"cy": "ychydig", "ar": "بضعة"}


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("language", ["cy", "ar"])
def test_first_page_in(snap_compare, make_app, language, size):
    async def run_before(pilot):
        pilot.app.post_message(messages.LanguageChosen(language))
        await pilot.pause()

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("language", ["cy", "ar"])
def test_question_with_an_error_in(snap_compare, make_app, language, size):
    async def run_before(pilot):
        await open_page(pilot, "bulky_waste", "attribute.item_count",
                        {"location": POTHOLE["location"], "attribute.items": ["sofa", "fridge"]}, language=language)
        await type_in(pilot, NOT_A_NUMBER[language], "enter")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
@pytest.mark.parametrize("language", ["cy", "ar"])
def test_confirmation_in(snap_compare, make_app, language, size):
    async def run_before(pilot):
        await open_page(pilot, "pothole", None, {**POTHOLE, **CONTACT}, language=language, contact_wanted=True)
        await keys(pilot, "enter")

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
