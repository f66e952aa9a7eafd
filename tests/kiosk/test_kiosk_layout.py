"""What fits on the screen: every list that fits at 80x24 fits at 120x40 too, without scrolling
(a bigger screen once gave each choice more rows and pushed the last languages and addresses
below the fold); every language has a number key; the top bar and the key hints are never cut
off, in any language, at either size (they wrap, a hint kept whole)."""

from __future__ import annotations

import unicodedata

import pytest

import locales
from kiosk import messages, pages
from kiosk.widgets.choices import ChoiceItem
from tests.helpers import import_addresses
from tests.kiosk.kiosk_support import keys, open_page, page, type_in

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]
STREET = [(f"1000000001{n:02}", f"{n} High Street, Brackenford, BF1 5AB", "BF1 5AB", 52.12 + n / 1000, -1.27)
          for n in range(1, 13)]


@pytest.fixture
def high_street(store, tmp_path):
    """Twelve addresses on one street: a search finds more than the eight shown."""
    import_addresses(store.db, tmp_path, STREET, "high-street.csv")


def unseen(app) -> list[str]:
    """The choices on the page that are not wholly in view without scrolling."""
    body = app.screen.query_one("#body")
    return [item.choice.label for item in app.screen.query(ChoiceItem)
            if not (item.region.area and body.region.contains_region(item.region))]


def rows(app, widget) -> str:
    """The words drawn across `widget`'s rows, as the terminal is sent them, whitespace folded."""
    strips = app.screen._compositor.render_strips()
    region = widget.region
    return " ".join(" ".join(strips[y].crop(region.x, region.right).text.split())
                    for y in range(region.y, region.bottom))


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_every_language_shows_at_once_each_with_a_number_key(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        assert len(app.languages) == 10, "every shipped language is enabled by default"
        assert unseen(app) == []
        badges = [rows(app, item).split()[0] for item in app.screen.query(ChoiceItem)]
        assert badges == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]
        assert app.languages[-1] == "bn"
        await keys(pilot, "0")
        assert page(app) == "WelcomeScreen" and app.t.code == "bn"


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_eight_addresses_show_at_once(make_app, high_street, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "location")
        await type_in(pilot, "High Street", "enter")
        assert len(app.screen.query(ChoiceItem)) == 8
        if size == (120, 40):
            assert unseen(app) == []
        await keys(pilot, "8")
        assert app.screen.query(ChoiceItem)[7].selected


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("code", ["en", "cy", "bn", "ar"])
async def test_the_bars_are_never_cut_off(make_app, settings, high_street, code, size):
    """On the address page with addresses found, which has the most keys and the Language button:
    every word of the council's name and of each key hint is on the screen."""
    app = make_app()
    t = locales.translator(code)
    async with app.run_test(size=size) as pilot:
        app.post_message(messages.LanguageChosen(code))
        await pilot.pause()
        await open_page(pilot, "pothole", "location", language=code)
        await type_in(pilot, "High Street", "enter")
        top = rows(app, app.screen.query_one("#top-bar"))
        hints = rows(app, app.screen.query_one("#key-hints"))
        assert "…" not in top + hints
        if code != "ar":  # Arabic is drawn in display order: only cut words are looked for
            assert rows(app, app.screen.query_one("#top-bar .title")) == settings.council.name
            for hint in ["1-8 " + t("Choose"), "Enter " + t("Continue"), "Esc " + t("Back"),
                         "F2 " + t("Change colours"), "F4 " + t("Language")]:
                assert hint in hints, (hint, hints)


def terminal_width(line: str) -> int:
    """Cells a terminal gives `line`, as glibc's wcwidth counts them (tmux, foot): a spacing
    vowel sign of Bengali or Gurmukhi (category Mc) takes a cell of its own."""
    width = 0
    for character in line:
        if unicodedata.category(character) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(character) in ("W", "F") else 1
    return width


@pytest.mark.parametrize("size", SIZES, ids=IDS)
@pytest.mark.parametrize("code", ["bn", "pa"])
async def test_no_line_is_wider_than_the_terminal_in_scripts_with_spacing_vowel_signs(make_app, code, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        app.post_message(messages.LanguageChosen(code))
        await pilot.pause()
        await keys(pilot, "enter")  # the tasks: choices with descriptions
        for screen_page in ("TaskScreen",):
            assert page(app) == screen_page
            lines = [strip.text for strip in app.screen._compositor.render_strips()]
            widest = max(lines, key=terminal_width)
            assert terminal_width(widest) <= size[0], widest
        await open_page(pilot, "pothole", "location", language=code)
        lines = [strip.text for strip in app.screen._compositor.render_strips()]
        assert max(map(terminal_width, lines)) <= size[0]


async def menus_in_view(make_app, size) -> dict[str, bool]:
    """For each menu a resident meets (tasks, groups, each group's services): all in view?"""
    app = make_app()
    seen = {}
    async with app.run_test(size=size) as pilot:
        journey = app.journey
        menus = [("tasks", pages.Tasks())]
        for task in ("report", "request"):
            groups = journey.catalogue.groups(task)
            menus.append((f"{task} groups", pages.Groups(task, tuple(groups))))
            menus += [(f"{task}: {group}", pages.Services(group, tuple(services)))
                      for group, services in groups.items()]
        for name, menu in menus:
            await app.show(menu)
            await pilot.pause()
            seen[name] = not unseen(app)
    return seen


async def test_every_menu_that_fits_at_80x24_fits_at_120x40(make_app):
    small = await menus_in_view(make_app, (80, 24))
    large = await menus_in_view(make_app, (120, 40))
    assert any(small.values()), "no menu fits at 80x24: the test would prove little"
    assert [name for name, fits in small.items() if fits and not large[name]] == []
