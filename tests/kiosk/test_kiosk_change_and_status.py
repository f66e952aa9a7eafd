"""Change from check-your-answers comes back to it; checking on a request reads the store only, in
the resident's language, with the council's notes as plain text."""

from __future__ import annotations

from kiosk.screens.check import CheckAnswersScreen
from kiosk.screens.status import RequestStatusScreen
from kiosk.widgets.choices import ChoiceList
from sync import reference
from tests.helpers import draft
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE, choose, keys, open_page, page, tap, type_in, words


async def change(pilot, key: str) -> None:
    button = next(button for button in pilot.app.screen.query(".change") if button.name == key)
    await tap(pilot, button)


async def test_change_returns_to_check_your_answers_with_the_new_answer(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        assert isinstance(app.screen, CheckAnswersScreen)
        await change(pilot, "attribute.size")
        assert app.screen.question.key == "attribute.size"
        assert app.screen.query_one(ChoiceList).selected == ("large",), "the page shows the answer given"
        await keys(pilot, "1", "enter")
        assert isinstance(app.screen, CheckAnswersScreen)
        assert "Smaller than a dinner plate" in words(app) and "In the road" in words(app)
        assert len(app.screen_stack) == 3, "no pages pile up behind check-your-answers"


async def test_back_from_a_change_leaves_the_answer_as_it_was(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await change(pilot, "description")
        await type_in(pilot, " and getting bigger")
        await keys(pilot, "escape")
        assert isinstance(app.screen, CheckAnswersScreen)
        assert app.journey.session.answers["description"] == "Deep hole by the bus stop"


async def test_a_new_mobile_number_asks_about_texts_and_consent_before_coming_back(make_app):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await change(pilot, "contact")  # the one row for the contact details not given
        assert page(app) == "ContactScreen"
        await choose(pilot, "yes")
        await keys(pilot, "enter")  # no name
        await type_in(pilot, "07911 123456", "enter")
        await keys(pilot, "enter")  # no email
        assert app.screen.question.key == "updates_by_text"
        await keys(pilot, "1", "enter")
        assert app.screen.question.key == "consent"
        await keys(pilot, "2", "enter")
        assert isinstance(app.screen, CheckAnswersScreen)
        said = words(app)
        assert "07911 123456" in said or "+447911123456" in said
        answers = app.journey.session.answers
        assert answers["updates_by_text"] == "yes" and answers["consent"] == "no"
        draft = app.journey.session.draft("v1")
        assert draft.contact is None and draft.notify_phone == "+447911123456"


async def test_check_on_a_request_typed_any_way_shows_its_last_status_and_plain_notes(make_app, store, clock):
    saved = store.enqueue(draft())
    [item] = store.claim("w")
    store.mark_sending(item.id, "w")
    store.mark_accepted(item.id, "w", "17")  # the council has it: its status is what the page leads with
    clock.advance(hours=3)
    store.record_status(saved.id, "in_progress", "[b]Crew booked[/b] for [link=https://x.example]Tuesday[/link]")
    typed = reference.display(saved.reference).lower().replace("-", " ")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await keys(pilot, "1", "enter")
        await keys(pilot, "3")
        assert page(app) == "ReferenceScreen"
        await type_in(pilot, typed, "enter")
        assert isinstance(app.screen, RequestStatusScreen)
        said = words(app)
        assert "Pothole" in said
        assert str(app.screen.query(".answer-value").first().render()) == "In progress"  # the status row itself
        assert "[b]Crew booked[/b] for [link=https://x.example]Tuesday[/link]" in said, "notes are never markup"
        assert "24 Nov 2026 12:00" in said, "last updated, on the library's clock"
        await tap(pilot, app.screen.query_one("#another"))
        assert page(app) == "ReferenceScreen"


async def test_a_status_check_in_welsh(make_app, store):
    saved = store.enqueue(draft())
    app = make_app()
    async with app.run_test() as pilot:
        await keys(pilot, "2", "enter", "3")
        await type_in(pilot, saved.reference, "enter")
        said = words(app)
        assert app.t.code == "cy" and "Twll yn y ffordd" in said
        saved_here = "Saved on this kiosk. It will be sent to the council as soon as there is a connection."
        assert app.t(saved_here) != saved_here and app.t(saved_here) in said


async def test_a_mistyped_or_unknown_reference_is_explained(make_app, store):
    app = make_app()
    async with app.run_test() as pilot:
        await keys(pilot, "1", "enter", "3", "enter")
        assert app.screen.query_one("ErrorSummary").messages == ["Enter your reference"]
        await keys(pilot, *"K7Q4MBXP9A", "enter")  # typed into the field from the summary
        assert app.screen.query_one("ErrorSummary").messages == [
            "Check your reference. It has 10 letters and numbers, like K7Q-4MB-XP9Z"]
        unknown = reference.new_reference()
        field = app.screen.query_one("#answer")
        field.value = unknown
        await keys(pilot, "enter")  # Enter on the error summary takes the resident to the field...
        assert app.focused is field
        await keys(pilot, "enter")  # ...and Enter there continues
        assert app.screen.query_one("ErrorSummary").messages[0].startswith("There is no request with that reference")
        saved = store.enqueue(draft())
        field.value = saved.display_reference
        await keys(pilot, "enter", "enter")  # from the summary to the field, then continue
        assert isinstance(app.screen, RequestStatusScreen)
        await tap(pilot, app.screen.query_one("#another"))  # "Check another reference": back to a clean page
        await pilot.pause()
        assert app.screen.query_one("ErrorSummary").messages == []
        assert not app.screen.title.startswith("Error:")
