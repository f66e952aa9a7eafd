"""Inactivity (WCAG 2.2.1): a warning after `kiosk.timeout_seconds`, a countdown of
`kiosk.warning_seconds`, "I need more time" as often as wanted, then a wipe that leaves nothing the
resident typed in memory, on screen or on disk. The clock is moved by hand: nothing sleeps."""

from __future__ import annotations

import pytest
from textual.widgets import Input, TextArea

from kiosk import messages
from kiosk.screens.timeout import TimeoutScreen
from tests.kiosk.kiosk_support import (
    NO_CONTACT,
    POTHOLE,
    SECRET_NAME,
    SECRET_PLACE,
    idle,
    keys,
    open_page,
    page,
    screen_text,
    type_in,
    words,
)

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow


def every_text_on_every_screen(app) -> str:
    parts = []
    for screen in app.screen_stack:
        parts += [str(getattr(widget, "content", "")) for widget in screen.query("Static")]
        parts += [widget.value for widget in screen.query(Input)] + [widget.text for widget in screen.query(TextArea)]
    return "\n".join(parts)


async def test_the_warning_comes_after_the_timeout_and_counts_down(make_app, monotonic, settings):
    assert settings.kiosk.warning_seconds >= 20, "WCAG 2.2.1: at least 20 seconds to respond"
    app = make_app()
    async with app.run_test() as pilot:
        await keys(pilot, "1")
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds - 1)
        assert page(app) == "WelcomeScreen"
        await idle(pilot, monotonic, 1)
        assert isinstance(app.screen, TimeoutScreen)
        assert "clear them in 60 seconds" in words(app)
        await idle(pilot, monotonic, 39)
        assert "clear them in 21 seconds" in words(app)


async def test_i_need_more_time_can_be_asked_for_again_and_again_and_keeps_everything(make_app, monotonic, settings):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", "name", {**POTHOLE}, contact_wanted=True)
        await type_in(pilot, SECRET_NAME)
        for _ in range(10):  # WCAG 2.2.1 asks for at least ten
            await idle(pilot, monotonic, settings.kiosk.timeout_seconds)
            assert isinstance(app.screen, TimeoutScreen)
            await idle(pilot, monotonic, settings.kiosk.warning_seconds - 1)
            assert isinstance(app.screen, TimeoutScreen)
            await keys(pilot, "enter")  # "I need more time" has the focus
            assert app.screen.question.key == "name"
        assert app.screen.field.value == SECRET_NAME


async def test_any_key_before_the_timeout_keeps_the_session_going(make_app, monotonic, settings):
    app = make_app()
    async with app.run_test() as pilot:
        await keys(pilot, "1")
        for _ in range(5):
            await idle(pilot, monotonic, settings.kiosk.timeout_seconds - 5)
            await keys(pilot, "tab")
        assert page(app) == "WelcomeScreen"


async def test_the_wipe_leaves_nothing_typed_in_memory_on_screen_or_on_disk(make_app, monotonic, settings, store,
                                                                              places):
    app = make_app()
    ended = []
    async with app.run_test(message_hook=ended.append) as pilot:
        await keys(pilot, "2", "enter")  # Welsh, then Start
        await open_page(pilot, "pothole", "name",
                        {**POTHOLE, "location": {"address_string": SECRET_PLACE}}, language="cy", contact_wanted=True)
        await type_in(pilot, SECRET_NAME)
        assert SECRET_NAME in every_text_on_every_screen(app) and SECRET_PLACE in str(app.journey.session.answers)
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds)
        await idle(pilot, monotonic, settings.kiosk.warning_seconds)
        assert page(app) == "LanguageScreen" and len(app.screen_stack) == 2
        everything = every_text_on_every_screen(app) + screen_text(app)
        assert SECRET_NAME not in everything and SECRET_PLACE not in everything
        session = app.journey.session
        assert session.pristine and session.answers == {} and session.language == "en"
        assert app.t.code == "en" and "Choose your language" in words(app)
    assert [message.reason for message in ended if isinstance(message, messages.SessionEnded)] == ["timeout"]
    assert sum(store.counts().values()) == 0, "a draft is never saved"
    store.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    folder = settings.store_path.parent
    for path in folder.iterdir():
        data = path.read_bytes()
        assert SECRET_NAME.encode() not in data and b"Zebedee" not in data and b"purple shed" not in data, path


async def test_clear_my_answers_now_wipes_at_once(make_app, monotonic, settings):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds)
        await keys(pilot, "2")
        assert page(app) == "LanguageScreen" and app.journey.session.pristine


async def test_the_start_page_never_times_out(make_app, monotonic, settings):
    app = make_app()
    async with app.run_test() as pilot:
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds * 10)
        assert page(app) == "LanguageScreen"


async def test_finish_on_the_confirmation_clears_everything(make_app, store):
    app = make_app()
    async with app.run_test() as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        app.action_toggle_colours()
        await keys(pilot, "enter")
        assert page(app) == "ConfirmationScreen"
        assert app.journey.session.answers == {}, "the draft is forgotten as soon as it is saved"
        assert app.theme != "assist-contrast", "the resident's colours stay while they read their reference"
        await keys(pilot, "tab", "enter")
        assert page(app) == "LanguageScreen" and app.theme == "assist-contrast"
        assert store.counts()["queued"] == 1
