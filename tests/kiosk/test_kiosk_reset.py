"""A visit's end (Send, Finish, a timeout) goes straight to the next page: none of the visit's
earlier pages is made current again on the way, with the resident's answers drawn on it for
whoever stands behind them. Every screen that becomes current is recorded from the messages the
app posts (a ScreenResume is posted to each page as it becomes the one shown)."""

from __future__ import annotations

import pytest
from textual import events

from tests.kiosk.kiosk_support import choose, idle, keys, page, type_in

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

SIZES = [(80, 24), (120, 40)]


def recorder(app, shown: list[str]):
    """A message hook noting each screen as it becomes current (the screen on top as its
    ScreenResume is posted)."""

    def hook(message) -> None:
        if isinstance(message, events.ScreenResume):
            shown.append(page(app))

    return hook


async def to_check_answers(pilot) -> None:
    """A report walked page by page, as a resident would, so that every page is on the stack."""
    await choose(pilot, "en")
    await keys(pilot, "enter")
    await choose(pilot, "report")
    await choose(pilot, "Roads, pavements and street lights")
    await choose(pilot, "pothole")
    await keys(pilot, "enter")  # the urgent notice
    await keys(pilot, *"bf1 4aa", "enter")
    await keys(pilot, "2", "enter")
    await keys(pilot, "3", "enter")
    await keys(pilot, "1", "enter")
    await type_in(pilot, "Deep hole by the bus stop", "enter")
    await choose(pilot, "no")
    assert page(pilot.app) == "CheckAnswersScreen"
    assert len(pilot.app.screen_stack) > 8, "the visit's pages are on the stack: the test would prove little"


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_send_goes_straight_to_the_confirmation(make_app, places, size):
    app = make_app()
    shown: list[str] = []
    async with app.run_test(size=size, message_hook=recorder(app, shown)) as pilot:
        await to_check_answers(pilot)
        shown.clear()
        await keys(pilot, "enter")
        await pilot.pause()
        assert page(app) == "ConfirmationScreen"
        assert [type(screen).__name__ for screen in app.screen_stack[1:]] == ["LanguageScreen", "ConfirmationScreen"]
    assert shown == ["ConfirmationScreen"]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_finish_goes_straight_to_the_language_menu(make_app, places, size):
    app = make_app()
    shown: list[str] = []
    async with app.run_test(size=size, message_hook=recorder(app, shown)) as pilot:
        await to_check_answers(pilot)
        await keys(pilot, "enter")
        assert page(app) == "ConfirmationScreen"
        shown.clear()
        await keys(pilot, "tab", "enter")
        await pilot.pause()
        assert page(app) == "LanguageScreen" and len(app.screen_stack) == 2
    assert shown == ["LanguageScreen"]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
async def test_a_timeout_goes_straight_to_the_language_menu(make_app, places, monotonic, settings, size):
    app = make_app()
    shown: list[str] = []
    async with app.run_test(size=size, message_hook=recorder(app, shown)) as pilot:
        await to_check_answers(pilot)
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds)
        assert page(app) == "TimeoutScreen"
        shown.clear()
        await idle(pilot, monotonic, settings.kiosk.warning_seconds)
        await pilot.pause()
        assert page(app) == "LanguageScreen" and len(app.screen_stack) == 2
    assert shown == ["LanguageScreen"]
