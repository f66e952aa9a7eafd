"""Focus that anyone can see, in both colour schemes: WCAG 2.2's focus appearance asks for at least
3:1 between a control's focused and unfocused colours (a yellow button turning white was 1.07:1).
The colours are read as the kiosk styles each control from its theme, unfocused and then focused,
on pages at 80x24 and 120x40; the words on a focused control keep 4.5:1 against it. Pages that
open with nothing to press (check answers, the confirmation) show their focus too."""

from __future__ import annotations

import pytest
from textual.color import Color

from kiosk import themes
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE, keys, open_page, type_in

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]


def luminance(color: Color) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * channel(color.r) + 0.7152 * channel(color.g) + 0.0722 * channel(color.b)


def contrast(one: Color, other: Color) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def colours(widget) -> tuple[Color, Color]:
    """The background and the words' colour as drawn (each laid over what is under it)."""
    background = widget.background_colors[1]
    return background, background + widget.styles.color


async def focus_change(pilot, widget) -> tuple[float, float]:
    """(contrast between `widget`'s unfocused and focused backgrounds, its words' contrast focused)."""
    pilot.app.screen.set_focus(None)
    await pilot.pause()
    before, _ = colours(widget)
    widget.focus()
    await pilot.pause()
    assert pilot.app.focused is widget
    after, words = colours(widget)
    return contrast(before, after), contrast(after, words)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("theme", [themes.DEFAULT, themes.ALTERNATIVE])
async def test_every_control_changes_by_3_to_1_when_focused(make_app, places, theme, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        await open_page(pilot, "pothole", "location")
        await type_in(pilot, "Market Square", "enter")
        screen = app.screen
        controls = {
            "a button": screen.query_one("#continue"),
            "a secondary button": screen.query_one("#search-button"),
            "a link": screen.query_one("#describe-button"),
            "the Back link": screen.query_one("#back"),
            "a top-bar button": screen.query_one("#colours"),
            "a choice": screen.query("ChoiceItem").first(),
            "a text field": screen.query_one("#search"),
        }
        for name, widget in controls.items():
            change, words = await focus_change(pilot, widget)
            assert change >= 3, f"{name} in {theme}: {change:.2f}:1 between unfocused and focused"
            assert words >= 4.5, f"{name}'s words in {theme}, focused: {words:.2f}:1"

        await open_page(pilot, "pothole", "description", {key: value for key, value in POTHOLE.items()
                                                          if key != "description"})
        change, words = await focus_change(pilot, screen.app.screen.query_one("#answer"))
        assert change >= 3 and words >= 4.5, f"the description area in {theme}: {change:.2f}, {words:.2f}"


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("theme", [themes.DEFAULT, themes.ALTERNATIVE])
async def test_check_answers_and_the_confirmation_open_with_visible_focus(make_app, theme, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT}, contact_wanted=False)
        for expected in ("CheckAnswersScreen", "ConfirmationScreen"):
            assert type(app.screen).__name__ == expected
            body = app.screen.query_one("#body")
            assert app.focused is body
            edge = body.styles.border_left
            assert edge[0] not in ("", "none", "hidden"), f"{expected}: the focused page shows nothing"
            assert contrast(edge[1], body.background_colors[1]) >= 3, f"{expected} in {theme}"
            assert body.content_region.x == app.screen.query_one("#top-bar").region.x + (
                2 if size == (80, 24) else 4), "nothing moves when the page takes the focus"
            await keys(pilot, "enter")
