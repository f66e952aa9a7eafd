"""Languages on the kiosk: switched mid-visit (everything redrawn, key hints included, answers
kept), and whole journeys in Polish and Welsh saved in the language they were made in."""

from __future__ import annotations

from dataclasses import replace

import pytest

import locales
from kiosk.screens.check import CheckAnswersScreen
from kiosk.screens.confirmation import ConfirmationScreen
from kiosk.screens.start import ChangeLanguageScreen
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE, choose, keys, open_page, page, screen_text, tap, type_in

WELSH = locales.translator("cy")
UNDESCRIBED = {key: value for key, value in POTHOLE.items() if key != "description"}


def key_hints(app) -> str:
    """The key hints, each key and its words joined by a no-break space (read here as a space)."""
    return str(app.screen.query_one("#key-hints").content).replace("\u00a0", " ")


async def test_switching_language_mid_visit_redraws_the_page_and_keeps_what_was_typed(make_app, store):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(pilot, "pothole", "description", UNDESCRIBED)
        await type_in(pilot, "Deep hole by the bus stop")
        assert "Continue" in key_hints(app) and "F4 Language" in key_hints(app)

        await keys(pilot, "f4")
        assert isinstance(app.screen, ChangeLanguageScreen)
        await choose(pilot, "cy")
        assert page(app) == "QuestionScreen"
        assert app.t.code == "cy" and app.journey.session.language == "cy"
        assert app.screen.heading_text() == WELSH("Describe the pothole") + " " + WELSH("(optional)")
        assert WELSH("Continue") in key_hints(app) and WELSH("Language") in key_hints(app)
        assert "Change colours" not in screen_text(app)  # the top bar too
        assert app.screen.query_one("#answer").text == "Deep hole by the bus stop"
        assert app.focused is app.screen.query_one("#answer")

        await keys(pilot, "enter")  # the typed words are the answer, in Welsh as in English
        assert app.journey.session.answers["description"] == "Deep hole by the bus stop"


async def test_pages_under_the_current_one_are_redrawn_too(make_app):
    app = make_app()
    async with app.run_test() as pilot:
        await choose(pilot, "en")
        await keys(pilot, "enter")
        assert page(app) == "TaskScreen"
        await keys(pilot, "f4")
        await choose(pilot, "cy")
        await keys(pilot, "escape")  # back to the welcome page, drawn before the switch
        assert page(app) == "WelcomeScreen"
        assert WELSH("You can use this kiosk to:") in screen_text(app)


async def test_back_from_the_language_menu_changes_nothing(make_app, store):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", "description", POTHOLE)
        await keys(pilot, "f4", "escape")
        assert page(app) == "QuestionScreen" and app.t.code == "en"
        assert not store.db.conn.execute("SELECT 1 FROM session_events WHERE event = 'language'").fetchone()


async def test_the_language_key_is_not_offered_where_it_makes_no_sense(make_app, settings):
    app = make_app()
    async with app.run_test() as pilot:
        assert "F4" not in key_hints(app)  # the start page is the language choice
        await keys(pilot, "f4")
        assert page(app) == "LanguageScreen"
    only_english = make_app(settings=replace(settings, languages=replace(settings.languages, enabled=["en"])))
    async with only_english.run_test() as pilot:
        await choose(pilot, "en")
        assert "F4" not in key_hints(only_english)


async def journey(pilot, language: str) -> str:
    """A missed bin reported in `language`, from the language page to the reference."""
    app = pilot.app
    await choose(pilot, language)
    await keys(pilot, "enter")
    await choose(pilot, "report")
    await choose(pilot, "Bins and recycling")
    await choose(pilot, "missed_bin")
    t = locales.translator(language)
    assert app.screen.heading_text() == t("Where is it?")
    await pilot.click("#describe-button")
    await type_in(pilot, "outside 3 Market Square", "enter")
    assert app.screen.heading_text() == t("Which bin was not emptied?")
    await keys(pilot, "2", "enter")
    await type_in(pilot, "23/11/2026", "enter")
    await keys(pilot, "enter")
    await choose(pilot, "no")
    assert isinstance(app.screen, CheckAnswersScreen)
    assert t("Check your answers before sending your report") in screen_text(app)
    await keys(pilot, "enter")
    assert isinstance(app.screen, ConfirmationScreen)
    assert t("Your reference is") in screen_text(app)
    return app.screen.receipt.reference


@pytest.mark.slow
async def test_a_journey_in_polish_is_saved_as_polish(make_app, store):
    assert "pl" in locales.shipped()
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        reference = await journey(pilot, "pl")
    assert store.lookup(reference).language == "pl"


@pytest.mark.slow
async def test_a_journey_switched_to_welsh_half_way_is_saved_as_welsh(make_app, store):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await keys(pilot, "f4")
        await choose(pilot, "cy")
        assert isinstance(app.screen, CheckAnswersScreen)
        assert WELSH("Check your answers before sending your report") in screen_text(app)
        await keys(pilot, "enter")
        reference = app.screen.receipt.reference
    assert store.lookup(reference).language == "cy"


async def test_the_language_page_lists_all_ten_on_a_small_screen_and_marks_each_draft(make_app):
    from kiosk.widgets.choices import ChoiceItem

    app = make_app()
    async with app.run_test(size=(80, 24)):
        labels = {item.choice.key: item.choice.label for item in app.screen.query(ChoiceItem)}
        assert list(labels) == locales.shipped() and len(labels) == 10
        assert labels["en"] == "English"
        for code in locales.shipped()[1:]:
            assert labels[code] == f"{locales.native_name(code)} · {locales.translator(code)('draft translation')}"
        body = app.screen.query_one("#body")
        assert body.max_scroll_y == 0, "every language is on the screen without scrolling"


async def test_reviewed_only_offers_english_alone_until_a_review_is_recorded(make_app, settings, monkeypatch):
    reviewed = locales.Manifest("cy", reviewed_by="A. Reviewer", reviewed_on="2026-11-20")
    monkeypatch.setattr(locales, "manifest", lambda code: reviewed if code == "cy" else locales.Manifest(code))
    app = make_app(settings=replace(settings, languages=replace(settings.languages, reviewed_only=True)))
    async with app.run_test():
        from kiosk.widgets.choices import ChoiceItem

        labels = {item.choice.key: item.choice.label for item in app.screen.query(ChoiceItem)}
        assert labels == {"en": "English", "cy": "Cymraeg"}


async def test_by_touch_the_top_bar_offers_the_language_in_english_too(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        assert not app.screen.query("#language"), "the first page is the language choice"
        await choose(pilot, "pl")
        button = app.screen.query_one("#language")
        assert str(button.label) == f"{locales.translator('pl')('Language')} · Language"
        await tap(pilot, button)
        assert isinstance(app.screen, ChangeLanguageScreen)
        await choose(pilot, "en")
        assert page(app) == "WelcomeScreen" and str(app.screen.query_one("#language").label) == "Language"
