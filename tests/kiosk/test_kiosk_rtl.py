"""Right-to-left languages on the kiosk (Arabic, Urdu). With `kiosk.bidi = "reorder"` (foot, which
draws characters in the order they come) every line reaches the terminal in display order, shaped,
against the right edge; with "terminal", in logical order, for a terminal that reorders by itself;
English is never touched.

The screen is read as the terminal receives it, the compositor's lines (kiosk_support.screen_text),
cut to each widget's content region. Words come from the catalogue through locales.Translator, so
the tests hold whatever the Arabic wording becomes; the display order expected of a line is
python-bidi's, applied to the line as Textual wrapped it (the same page in "terminal" mode).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from bidi.algorithm import get_display
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

import locales
from kiosk import bidi, messages
from kiosk.widgets.choices import ChoiceItem
from sync import reference
from tests.kiosk.kiosk_support import POTHOLE, keys, open_page, page, screen_text, type_in

ARABIC = locales.translator("ar")
CONTACT = {"name": "Ann Resident", "phone": "+447911123456", "email": None, "updates_by_text": "yes", "consent": "yes"}
#: What the top bar names on every screen size (the library's name too from 100 columns).
COUNCIL_AND_LIBRARY = "Brackenford Borough Council"


def in_display_order(line: str, direction: str = "R") -> str:
    """What a terminal that does not reorder must be sent for `line`: shaped, then python-bidi's order."""
    return get_display(bidi.reshaper().reshape(line), base_dir=direction)


def with_bidi(settings, mode: str):
    return replace(settings, kiosk=replace(settings.kiosk, bidi=mode))


def rows(app, widget) -> list[str]:
    """The screen's rows across `widget`'s content, as drawn (cut by cells: a vowel mark takes none)."""
    strips = app.screen._compositor.render_strips()
    region = widget.content_region
    return [strips[y].crop(region.x, region.right).text for y in range(region.y, region.bottom)]


def text_widgets(app) -> list:
    """Every widget on the page that draws words through the kiosk's bidi hook."""
    return [widget for widget in app.screen.query("*")
            if isinstance(widget, bidi.DisplayOrder) and widget.display and widget.content_region.area]


async def welcome_rows(make_app, settings, mode: str, language: str = "ar") -> tuple[list[str], dict[str, list[str]]]:
    app = make_app(settings=with_bidi(settings, mode))
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(messages.LanguageChosen(language))
        await pilot.pause()
        assert page(app) == "WelcomeScreen"
        drawn = {f"{type(widget).__name__}#{index}": rows(app, widget)
                 for index, widget in enumerate(text_widgets(app))}
        return screen_text(app).split("\n"), drawn


@pytest.mark.slow
async def test_each_wrapped_line_of_an_arabic_page_is_sent_in_display_order_against_the_right_edge(
        make_app, settings):
    _, logical = await welcome_rows(make_app, settings, "terminal")
    _, shown = await welcome_rows(make_app, settings, "reorder")

    assert logical.keys() == shown.keys()
    assert any(len(lines) > 1 for lines in logical.values()), "no paragraph wraps: the test would prove little"
    assert logical != shown, "nothing reordered: the test would prove little"
    for name, lines in logical.items():
        for logical_line, shown_line in zip(lines, shown[name], strict=True):
            # line by line, as wrapped: a paragraph reordered before wrapping would start at the bottom
            assert shown_line.strip() == in_display_order(logical_line.strip()), name
            if logical_line.strip():
                assert shown_line == shown_line.rstrip() or name.startswith("Button"), f"{name} not against the right"


async def test_with_a_terminal_that_reorders_the_heading_is_sent_in_logical_order(make_app, settings):
    app = make_app(settings=with_bidi(settings, "terminal"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "bulky_waste", "attribute.item_count",
                        {"location": POTHOLE["location"], "attribute.items": ["sofa"]}, language="ar")
        heading = app.screen.query_one(".heading")
        drawn = rows(app, heading)
        assert [line.strip() for line in drawn] == [ARABIC("How many items are there?")]
        assert drawn[0] == drawn[0].rstrip() != drawn[0].strip()  # against the right edge
        back = rows(app, app.screen.query_one("#back"))[0]
        assert back.strip() == "‹ " + ARABIC("Back")  # the terminal mirrors the arrow


async def test_in_reorder_mode_the_same_heading_and_the_back_link_turn_round(make_app, settings):
    app = make_app(settings=with_bidi(settings, "reorder"))
    async with app.run_test(size=(120, 40)) as pilot:
        await open_page(pilot, "bulky_waste", "attribute.item_count",
                        {"location": POTHOLE["location"], "attribute.items": ["sofa"]}, language="ar")
        drawn = rows(app, app.screen.query_one(".heading"))
        assert [line.strip() for line in drawn] == [in_display_order(ARABIC("How many items are there?"))]
        assert drawn[0] == drawn[0].rstrip()
        body = app.screen.query_one("#body").content_region
        back = app.screen.query_one("#back")
        assert back.region.right == body.right  # the Back link at the top right
        assert rows(app, back)[0].strip() == in_display_order("‹ " + ARABIC("Back"))
        assert rows(app, back)[0].strip().endswith("›")  # pointing right, the way back in Arabic


async def test_a_reference_and_the_councils_name_still_read_left_to_right(make_app, monkeypatch):
    monkeypatch.setattr(reference, "new_reference", lambda: "K7Q4MBXP9P")
    app = make_app()  # kiosk.bidi = "reorder", the default
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(pilot, "pothole", None, {**POTHOLE, **CONTACT}, language="ar", contact_wanted=True)
        await keys(pilot, "enter")
        assert page(app) == "ConfirmationScreen"
        assert [line.strip() for line in rows(app, app.screen.query_one("#reference-text"))] == ["K7Q-4MB-XP9P"]
        heading = rows(app, app.screen.query_one("#panel .heading"))
        assert [line.strip() for line in heading] == [in_display_order(ARABIC("Your report is saved"))]
        assert COUNCIL_AND_LIBRARY in screen_text(app).split("\n")[0]


async def test_choices_on_an_arabic_page_put_the_number_at_the_right_of_the_words(make_app):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.post_message(messages.LanguageChosen("ar"))
        await pilot.pause()
        await keys(pilot, "enter")
        assert page(app) == "TaskScreen"
        item = app.screen.query(ChoiceItem).first()
        first_row = rows(app, item)[0]
        assert " ".join(first_row.split()) == f"{in_display_order(ARABIC('Report a problem'))} 1"
        assert first_row.rstrip().endswith("1")


async def test_an_input_keeps_what_the_resident_types_in_the_order_typed(make_app):
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_page(pilot, "bulky_waste", "attribute.item_count",
                        {"location": POTHOLE["location"], "attribute.items": ["sofa"]}, language="ar")
        await type_in(pilot, "ثلاثة")
        field = app.screen.query_one("#answer")
        assert rows(app, field)[0].strip() == "ثلاثة"  # an input is not bidi-aware: never reordered


@pytest.mark.slow
async def test_english_lines_are_drawn_as_written(make_app, settings):
    as_written, _ = await welcome_rows(make_app, settings, "terminal", language="en")
    lines, _ = await welcome_rows(make_app, settings, "reorder", language="en")
    assert lines == as_written
    english = locales.translator("en")
    heading = english("Report a problem or ask the council for a service")
    assert any(line.rstrip() == "  " + heading for line in lines)  # at the left, as written
    assert lines[0].startswith(" " + COUNCIL_AND_LIBRARY)  # the top bar not turned round either


async def test_the_language_menu_shows_arabic_and_urdu_names_in_display_order_among_english(make_app):
    app = make_app()
    app.languages = ["en", "cy", "ur", "ar"]
    async with app.run_test(size=(80, 24)):
        shown = screen_text(app)
        for code in ("ar", "ur"):
            name = locales.native_name(code)
            assert in_display_order(name, "L") in shown and name not in shown
        assert "English" in shown and "Cymraeg" in shown


# ---- the line hook on its own -----------------------------------------------------------------

def test_an_english_line_is_handed_back_untouched():
    strip = Strip([Segment("Report a problem", Style(bold=True))])
    assert bidi.display_line(strip, "L") is strip
    assert bidi.display_line(strip, None) is strip


def test_urdu_letters_are_shaped_and_joined():
    # ہے: heh goal initial, yeh barree final; بھی: beh initial, heh doachashmee medial, Farsi yeh final
    assert bidi.visual("ہے", "R") == "\ufbaf\ufba8"
    assert bidi.visual("بھی", "R") == "\ufbfd\ufbad\ufe91"
    # ٹوٹی سڑک ڈبہ ں: every one of Urdu's own letters in a joined form, none left bare
    shown = bidi.visual("ٹوٹی سڑک ڈبہ میں گاڑی کچھ", "R")
    assert not set("ےںہھٹڈڑکگی") & set(shown)


def test_urdu_izafat_does_not_stop_the_letter_before_it_joining():
    # خانۂ: arabic-reshaper has no forms for ۂ; written as ہ and a hamza mark, the noon still joins
    shown = bidi.visual("خانۂ", "R")
    assert "\ufee7" in shown and "\ufee5" not in shown  # noon initial, not isolated
    assert shown.index("\u0654") == shown.index("\ufba7") + 1  # the hamza drawn on the heh goal


def test_a_phone_number_stays_whole_when_isolated_and_isolates_do_not_break_the_algorithm():
    phone = "01632 960000"
    assert "960000 01632" in bidi.visual(f"اتصل على {phone} الآن", "R")  # why isolate() is needed
    assert phone in bidi.visual(f"اتصل على {bidi.isolate(phone, True)} الآن", "R")
    assert bidi.isolate(phone, False) == phone


def test_ligatures_keep_the_line_its_width_and_its_alignment():
    strip = Strip([Segment("      "), Segment("السلام عليكم", Style(bold=True))])
    shown = bidi.display_line(strip, "R")
    assert shown.cell_length == strip.cell_length
    assert shown.text.rstrip() == shown.text and "\ufefc" in shown.text  # lam-alef joined, still flush right


def test_styles_travel_with_their_words():
    strip = Strip([Segment("رقم ", Style(bold=True)), Segment("K7Q-4MB-XP9P", Style(italic=True)),
                   Segment(" المرجع", Style(bold=True))])
    shown = bidi.display_line(strip, "R")
    assert [segment.text for segment in shown if segment.style == Style(italic=True)] == ["K7Q-4MB-XP9P"]
    assert shown.text.startswith(in_display_order("المرجع")) and shown.text.endswith(in_display_order("رقم"))


@pytest.mark.parametrize("odd", ["\u2067\u2069", "\u200e \u200f", "ُ", "(]", "  \u202e\u05d0a  ", "\u2068ا\u2069 b"])
def test_odd_lines_never_break_the_screen(odd):
    strip = Strip([Segment(f"  {odd}  ")])
    for direction in ("L", "R"):
        assert bidi.display_line(strip, direction).cell_length == strip.cell_length
