"""The printed reference's bytes, as python-escpos's Dummy printer records them: the council's name,
the reference large, the service and street, how to check on it and the date, in the resident's
language, and nothing personal. Lines a printer has no characters for are a picture."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from escpos.printer import Dummy
from PIL import Image

from sync.config import load_settings
from sync.printing import picture
from sync.printing.printer import printable, slip_bytes
from sync.printing.slip import REFERENCE, Line, Saved, compose, street_of

REF = "K7Q-4MB-XP9Z"
ON = dt.date(2026, 12, 6)
#: ESC ! 0x30 (double height and width), ESC E 1 (bold): the reference's size, just before it.
LARGE = b"\x1b!0\x1bE\x01"
RASTER = b"\x1dv0"  # GS v 0: a raster picture
CUT = b"\x1dV"


@pytest.fixture
def settings(tmp_path):
    return load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "assist.db"),
                                  "ASSIST_KIOSK__LIBRARY_NAME": "Brackenford Central Library",
                                  "ASSIST_KIOSK__PRINTER": "tcp://127.0.0.1:9100",
                                  "ASSIST_TWILIO__FROM_NUMBER": "+447700900123"})


def saved(language: str = "en", *, street: str = "Station Road", journey: str = "report") -> Saved:
    return Saved(REF, journey, "Pothole", street, language, ON)


def test_an_english_slip_prints_everything_a_resident_needs_as_text(settings):
    data = slip_bytes(compose(settings, saved()))
    text = data.decode("cp437", errors="replace")
    size_then_reference = re.search(re.escape(LARGE) + rb"(?:\x1b[a-z].)*" + REF.encode(), data)
    assert size_then_reference, "the reference is printed large"
    for words in ("Brackenford Borough Council", "You reported", "Pothole", "Station Road", "To check on it",
                  "Use your reference at the kiosk", "Brackenford Central Library",
                  f"Or text STATUS\u00a0{REF} to", "07700 900123", "Date: 6 December 2026"):
        assert words in text.replace("\n", " "), words
    assert RASTER not in data, "nothing needs a picture in English"
    assert data.endswith(CUT + b"\x00") or CUT in data[-8:], "the paper is cut"


def test_a_request_says_what_was_asked_for(settings):
    data = slip_bytes(compose(settings, saved(journey="request")))
    assert b"You asked for" in data and b"You reported" not in data


def test_nothing_personal_reaches_the_slip(settings):
    """A missed bin at the resident's own door: the street is printed, never the house, the flat,
    or what they typed."""
    location = {"address_id": "100000000004", "address_string": "Flat 2, 14 Station Road, Brackenford, BF2 7QT",
                "lat": 52.13, "long": -1.28}
    street = street_of(location)
    assert street == "Station Road"
    data = slip_bytes(compose(settings, saved(street=street)))
    for personal in (b"Flat 2", b"14 Station", b"BF2 7QT"):
        assert personal not in data
    described = {"address_string": "behind the purple shed at 99 Nowhere Lane"}
    assert street_of(described) == "", "a place in the resident's own words is never printed"
    assert b"purple" not in slip_bytes(compose(settings, saved(street=street_of(described))))


def test_without_a_number_to_text_the_slip_says_only_the_kiosk(settings, tmp_path):
    quiet = load_settings(environ={"ASSIST_STORE__PATH": str(tmp_path / "assist.db")})
    data = slip_bytes(compose(quiet, saved()))
    assert b"STATUS" not in data and b"Use your reference at the kiosk" in data


def test_welsh_is_printed_in_welsh(settings):
    text = slip_bytes(compose(settings, saved("cy"))).decode("cp437", errors="replace").replace("\n", " ")
    assert "Eich cyfeirnod yw" in text and "Dyddiad: 6 Rhagfyr 2026" in text and REF in text


@pytest.mark.parametrize("language", ["ar", "ur", "bn", "pa"])
def test_scripts_a_printer_has_no_characters_for_are_a_picture_and_the_reference_stays_text(settings, language):
    slip = compose(settings, saved(language))
    data = slip_bytes(slip)
    assert RASTER in data
    assert re.search(re.escape(LARGE) + rb"(?:\x1b[a-z].)*" + REF.encode(), data), "the reference is still text"
    words = [line for line in slip.lines if line.style != REFERENCE and not printable(Dummy(), line.text)]
    assert [line.text for line in slip.lines if line not in words] == [
        "Brackenford Borough Council", REF, "Station Road"], "only the Latin lines are text: the rest is drawn"
    assert b"STATUS" not in data, "the text-a-message line is drawn, as a right-to-left or shaped line"
    drawn = picture.draw(words, language, slip.right_to_left)
    assert drawn.width == picture.WIDTH and ink(drawn) > 0.02


def test_arabic_is_shaped_and_laid_right_to_left(settings):
    """Joined letters are narrower than the same letters drawn apart (Raqm shapes them), and a line
    with a word of each direction is laid out differently in a right-to-left slip."""
    assert picture.can_draw("ar"), "Pillow's Raqm layout (libfribidi0) is installed where the tests run"
    font = picture._font(picture.BODY_SIZE)
    joined = font.getlength("بطاقة", direction="rtl", language="ar")
    apart = sum(font.getlength(letter, direction="rtl", language="ar") for letter in "بطاقة")
    assert joined < apart
    line = [Line("مرحبا STATUS")]
    assert picture.draw(line, "ar", True).tobytes() != picture.draw(line, "ar", False).tobytes()


def test_letters_no_code_page_holds_or_that_join_are_drawn():
    """Welsh's ŵ is in no code page; Arabic is (CP864), but a printer would print it unjoined and
    left to right, so it is drawn too."""
    assert printable(Dummy(), "Eich cyfeirnod — 6 Rhagfyr") and not printable(Dummy(), "Dŵr")
    assert Dummy().magic.encoder.find_suitable_encoding("ب") and not printable(Dummy(), "رقمك المرجعي هو")


def test_the_message_to_text_stays_on_one_line_in_order_in_a_right_to_left_slip(settings):
    slip = compose(settings, saved("ar"))
    [line] = [line.text for line in slip.lines if "STATUS" in line.text]
    assert "\u2066STATUS\u00a0K7Q-4MB-XP9Z\u2069" in line and "\u206607700 900123\u2069" in line
    font = picture._font(picture.BODY_SIZE)
    assert any("STATUS\u00a0K7Q-4MB-XP9Z" in row for row in picture.wrap(line, font, picture._layout(True, "ar")))


def ink(image: Image.Image) -> float:
    """The share of the picture's dots that print black."""
    gray = image.convert("L")
    return sum(gray.histogram()[:128]) / (gray.width * gray.height)
