"""Right-to-left lines (Arabic, Urdu) put in display order, for terminals that draw characters in
the order they arrive, like foot, the kiosk's terminal (docs/kiosk.md).

Textual knows nothing of bidirectional text: it wraps and aligns a paragraph in logical order
(the order it is typed and stored in) and sends each line to the terminal that way. A terminal
that does not reorder then shows Arabic words backwards, letter by letter, and unjoined. So, with
`kiosk.bidi = "reorder"`, each widget line is taken as Textual drew it, after wrapping and
alignment, and only then shaped (arabic-reshaper picks each letter's joined form) and reordered by
the Unicode Bidirectional Algorithm (python-bidi). Reordering a paragraph before wrapping would
put its first words on its last line. Latin and digits inside (a reference, the council's name)
keep their left-to-right order, as the algorithm says they should. With `kiosk.bidi = "terminal"`
nothing is touched: a terminal that reorders by itself would otherwise reverse the text twice.

The blank cells at either end of a line (the alignment, which CSS already mirrors for
right-to-left pages) stay where they are; only the text between them moves. Styles travel with
their characters wherever a run of the other direction is styled as one (any line the kiosk draws
today); a line in English is handed back untouched unless it holds right-to-left letters (a
language's own name on the language menu).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Literal

from bidi.algorithm import get_display  # type: ignore[import-untyped]  # python-bidi ships no type information
from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip

if TYPE_CHECKING:
    from textual.app import App

Direction = Literal["L", "R"]

#: Letters that are strongly right-to-left: Hebrew, Arabic and their supplements and presentation forms.
RIGHT_TO_LEFT_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")

#: Shaping for a terminal, one character a cell. The "Arabic" tables cover Urdu's own letters
#: (ٹ ڈ ڑ ں ہ ھ ے, Farsi yeh, keheh, gaf), tested in tests/kiosk/test_kiosk_rtl.py. Lam-alef
#: ligatures are obligatory in both scripts and kept (the line is padded back to its width); word
#: ligatures (one glyph for a whole word) are not, as they squeeze a word into one cell. Vowel and
#: other marks are kept and moved one letter back, so that after reordering each is drawn on its
#: own letter (a terminal puts a combining mark on the cell before it).
SHAPING = {
    "language": "Arabic",
    "delete_harakat": False,
    "shift_harakat_position": True,
    "support_ligatures": True,
    "ARABIC LIGATURE ALLAH": False,
}


@cache
def reshaper():
    """arabic-reshaper, set up for a terminal; imported with the first right-to-left line, as it
    brings fontTools with it (60 ms of start-up) and a kiosk in English never needs it."""
    import arabic_reshaper  # type: ignore[import-untyped]  # ships no type information

    return arabic_reshaper.ArabicReshaper(configuration=SHAPING)


#: Before shaping and reordering: heh goal with hamza (Urdu's izafat, U+06C2) is missing from
#: arabic-reshaper's tables and would stop the letter before it joining, so it is written as its
#: canonical decomposition, heh goal and a mark; and python-bidi's algorithm (the one that mirrors
#: brackets) stops at directional isolates, so on a single line they become the embeddings that
#: do the same there (a first-strong isolate is left to the text inside it).
SPELLED_FOR_SHAPING = str.maketrans({"\u06c2": "\u06c1\u0654", "\u2066": "\u202a", "\u2067": "\u202b",
                                     "\u2068": None, "\u2069": "\u202c"})


def isolate(value: str, right_to_left: bool) -> str:
    """A left-to-right value kept whole inside right-to-left text. A phone number needs it: its
    groups of digits are separate runs, which a right-to-left line puts in right-to-left order
    ("01632 960000" would read "960000 01632"), here and on a terminal that reorders by itself."""
    return f"\u2066{value}\u2069" if right_to_left else value


def starts_left_to_right(value: str) -> bool:
    """Whether the first letter of `value` that has a direction of its own is left-to-right (an
    address's "High", not its house number, which has none)."""
    for character in value:
        kind = unicodedata.bidirectional(character)
        if kind in ("R", "AL"):
            return False
        if kind == "L":
            return True
    return False


def kept_in_order(value: str, right_to_left: bool) -> str:
    """`value` isolated where it reads left to right: "12 High Street, Brackenford, BF1 5AB" in a
    right-to-left line would otherwise show its house number at the far end ("High Street,
    Brackenford, BF1 5AB 12"), which could send a crew to the wrong house. A value in the line's
    own script (a place described in Arabic) is left to the line."""
    return isolate(value, right_to_left) if starts_left_to_right(value) else value


def right_aligned(strip: Strip) -> Strip:
    """One line with its blank cells moved from its end to its start: the placeholder of a field
    on a right-to-left page, which Textual draws at the left whatever the page's direction."""
    text = strip.text
    trail = len(text) - len(text.rstrip(" "))
    if not trail or not text.strip(" "):
        return strip
    width = strip.cell_length
    return Strip.join([strip.crop(width - trail, width), strip.crop(0, width - trail)])


def paragraph_direction(app: "App") -> Direction | None:
    """How the kiosk wants lines drawn: "R" for a right-to-left language, "L" otherwise, None when
    the terminal does the reordering itself (`kiosk.bidi = "terminal"`). Widgets hosted outside
    the kiosk app (in tests) follow the setting's default."""
    settings = getattr(app, "settings", None)
    if settings is not None and settings.kiosk.bidi != "reorder":
        return None
    return "R" if app.has_class("-rtl") else "L"


@lru_cache(maxsize=4096)
def visual(text: str, direction: Direction) -> str:
    """`text`, one line in logical order, shaped and in display order, for a paragraph of `direction`."""
    return get_display(reshaper().reshape(text.translate(SPELLED_FOR_SHAPING)), base_dir=direction)


def display_line(strip: Strip, direction: Direction | None, start: int = 0, end: int | None = None) -> Strip:
    """One rendered line in display order, cells `start` to `end` only (the rest stays as it is).

    Left to right: returned as it is unless it holds right-to-left letters.
    """
    if direction is None:
        return strip
    text = strip.text
    if direction == "L" and not RIGHT_TO_LEFT_LETTER.search(text):
        return strip
    width = strip.cell_length
    end = width if end is None else end
    part = strip.crop(start, end)
    words = part.text
    stripped = words.strip(" ")
    if not stripped:
        return strip
    lead = len(words) - len(words.lstrip(" "))
    trail = len(words) - len(words.rstrip(" "))
    inner = part.crop(lead, part.cell_length - trail)
    cells = inner.cell_length
    if not cells:
        return strip
    shown = visual(stripped, direction)
    missing = cells - cell_len(shown)  # cells that lam-alef ligatures joined: left blank where the text ends
    blank = " " * max(0, missing)
    styles = {segment.style for segment in inner}
    if len(styles) == 1:  # any line the kiosk draws today
        style = styles.pop()
        segments = [Segment(shown, style)]
        if blank:
            filler = Segment(blank, style.background_style if style else None)
            segments = [filler, *segments] if direction == "R" else [*segments, filler]
    else:
        segments = _restyled(inner, shown, blank, direction)
    drawn = Strip(segments, cells)
    return Strip.join([strip.crop(0, start + lead), drawn, strip.crop(end - trail, width)])


def _restyled(inner: Strip, shown: str, blank: str, direction: Direction) -> list[Segment]:
    """Styles for a line drawn in more than one: one a cell, as drawn. A right-to-left paragraph
    is mirrored as a whole, so each cell takes the style of its mirror image (exact wherever the
    left-to-right runs inside are styled as one); in a left-to-right one, each cell keeps the style
    of its column (exact where each right-to-left run is)."""
    styles = [segment.style for segment in inner for _ in range(cell_len(segment.text))]
    if direction == "R":
        styles.reverse()
        shown = blank + shown
    else:
        shown = shown + blank
    segments: list[tuple[list[str], Style | None]] = []
    column = 0
    for character in shown:
        width = cell_len(character)
        # A combining mark is drawn on the cell before it and takes its style.
        style = styles[min(max(column - (not width), 0), len(styles) - 1)]
        if segments and segments[-1][1] == style:
            segments[-1][0].append(character)
        else:
            segments.append(([character], style))
        column += width
    return [Segment("".join(characters), style) for characters, style in segments]


class DisplayOrder:
    """For the kiosk's text widgets: every line drawn in display order (see the module's docstring).

    `render_line` is where Textual hands over one line of a widget's content, after wrapping and
    alignment and before padding and borders, and its result is cached until the widget changes,
    so this costs nothing on frames that do not redraw the widget."""

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)  # type: ignore[misc]
        return display_line(strip, paragraph_direction(self.app))  # type: ignore[attr-defined]
