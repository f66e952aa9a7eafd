"""Addresses on an Arabic page: "12 High Street, Brackenford, BF1 5AB" keeps its order in the
choices and on check your answers (a left-to-right run that starts with digits is isolated, or the
house number goes to the far end of the line); the search field's placeholder is shaped and in
display order like every other Arabic line, against the right edge; the search row and the
"I cannot find it" link are mirrored. Read from the screen as the terminal is sent it
(`kiosk.bidi = "reorder"`, the default)."""

from __future__ import annotations

import pytest

import locales
from kiosk import bidi
from kiosk.widgets.choices import ChoiceItem
from tests.helpers import import_addresses
from tests.kiosk.kiosk_support import NO_CONTACT, POTHOLE, open_page, type_in

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow

ARABIC = locales.translator("ar")
SIZES = [(80, 24), (120, 40)]
IDS = ["80x24", "120x40"]
ADDRESS = "12 High Street, Brackenford, BF1 5AB"


@pytest.fixture
def high_street(store, tmp_path):
    import_addresses(store.db, tmp_path, [
        ["100000000112", ADDRESS, "BF1 5AB", 52.1212, -1.2712],
        ["100000000114", "14 High Street, Brackenford, BF1 5AB", "BF1 5AB", 52.1214, -1.2714]], "high-street.csv")


def drawn(app, widget, content: bool = False) -> list[str]:
    """`widget`'s rows (or its content's, inside border and padding) as the terminal is sent them."""
    strips = app.screen._compositor.render_strips()
    region = widget.content_region if content else widget.region
    return [strips[y].crop(region.x, region.right).text for y in range(region.y, region.bottom)]


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_an_address_keeps_its_order_in_the_choices_and_on_check_answers(make_app, high_street, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "location", language="ar")
        await type_in(pilot, "High Street", "enter")
        items = list(app.screen.query(ChoiceItem))
        assert len(items) == 2
        assert any(ADDRESS in row for row in drawn(app, items[0])), drawn(app, items[0])
        assert not any("BF1 5AB 12" in row for row in drawn(app, items[0]))

        await open_page(pilot, "pothole", None, {**POTHOLE, **NO_CONTACT, "location": {
            "address_id": "100000000112", "address_string": ADDRESS, "lat": 52.1212, "long": -1.2712}},
            language="ar", contact_wanted=False)
        values = [" ".join(drawn(app, widget)) for widget in app.screen.query(".answer-value")]
        assert any(ADDRESS in value for value in values), values


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_search_placeholder_is_shaped_in_display_order_at_the_right(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "location", language="ar")
        field = app.screen.query_one("#search")
        [inside] = drawn(app, field, content=True)
        placeholder = ARABIC("Postcode or street")
        assert inside.strip() == bidi.visual(placeholder, "R")
        assert inside.endswith(inside.strip()), "against the right edge"
        assert inside.startswith("  "), "not at the left"


@pytest.mark.parametrize("size", SIZES, ids=IDS)
async def test_the_search_row_and_the_describe_link_are_mirrored(make_app, size):
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await open_page(pilot, "pothole", "location", language="ar")
        screen = app.screen
        field, button = screen.query_one("#search").region, screen.query_one("#search-button").region
        link = screen.query_one("#describe-button").region
        heading = screen.query_one(".heading").region
        assert button.right <= field.x, "the Search button is to the left of the field"
        assert field.right == heading.right, "the field ends against the right edge of the text"
        assert link.right == heading.right, "the link ends against the right edge of the text"
