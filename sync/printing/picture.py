"""Lines a receipt printer has no characters for, drawn as a picture it prints dot by dot.

A receipt printer's character sets are Latin, Greek, Cyrillic and a few more: not Arabic, Urdu,
Bengali or Gurmukhi, nor Welsh's ŵ and ŷ or Romanian's ș and ț. Such lines are drawn with the font
the project ships (fonts/NotoSlip-Regular.ttf: Noto, SIL Open Font License 1.1, fonts/OFL.txt; made
by tools/slip_font.py) and printed as one picture.

Pillow draws them through its Raqm layout (HarfBuzz, in Pillow's own wheel, shapes each script:
Arabic letters joined, Bengali vowel signs put before their consonant; FriBiDi, Debian's libfribidi0,
orders a right-to-left line). Without Raqm, Pillow's basic layout would print Arabic unjoined and
Bengali out of order, so a slip in those languages is printed in English instead (`can_draw`).
A paragraph is wrapped in the order it is written, and each line is then laid out on its own, so a
right-to-left paragraph's first words stay on its first line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from sync.printing.slip import BODY, HEADING, REFERENCE, Line

FONT = Path(__file__).with_name("fonts") / "NotoSlip-Regular.ttf"
#: Dots across: a 58 mm printer's whole line (an 80 mm printer centres the picture).
WIDTH = 384
SIZES = {HEADING: 30, REFERENCE: 44}
BODY_SIZE = 26
GAP = 6
#: Languages whose letters change shape or order as they join: drawn only with Raqm.
SHAPED = frozenset({"ar", "ur", "bn", "pa"})


def can_draw(language: str) -> bool:
    """Whether a slip in `language` can be drawn as it should read."""
    return language not in SHAPED or _raqm()


def _raqm() -> bool:
    return bool(features.check("raqm"))


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    engine = ImageFont.Layout.RAQM if _raqm() else ImageFont.Layout.BASIC
    return ImageFont.truetype(str(FONT), size, layout_engine=engine)


@dataclass(frozen=True)
class Layout:
    """The direction and language Raqm lays a line out by (the basic layout takes neither: None)."""

    direction: str | None = None
    language: str | None = None


def _layout(right_to_left: bool, language: str) -> Layout:
    return Layout("rtl" if right_to_left else "ltr", language) if _raqm() else Layout()


def draw(lines: Sequence[Line], language: str, right_to_left: bool) -> Image.Image:
    """One black-on-white picture of `lines`, each centred, wrapped to the printer's width."""
    layout = _layout(right_to_left, language)
    rows: list[tuple[str, ImageFont.FreeTypeFont, bool]] = []
    for line in lines:
        font = _font(SIZES.get(line.style, BODY_SIZE))
        rows += [(text, font, line.style != BODY) for text in wrap(line.text, font, layout)]
    heights = [round(font.size * 1.5) for _text, font, _bold in rows]
    picture = Image.new("1", (WIDTH, sum(heights) + GAP * 2), 1)
    pen = ImageDraw.Draw(picture)
    top = GAP
    for (text, font, bold), height in zip(rows, heights):
        pen.text((WIDTH // 2, top), text, font=font, fill=0, anchor="ma", stroke_width=1 if bold else 0,
                 stroke_fill=0, direction=layout.direction, language=layout.language)
        top += height
    return picture


def wrap(text: str, font: ImageFont.FreeTypeFont, layout: Layout) -> list[str]:
    """`text` in lines no wider than the picture, broken between words (a word wider than a line,
    which no slip has, goes on a line of its own and is cut by the printer's edge)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):  # not at a no-break space
        trial = f"{current} {word}" if current else word
        if current and font.getlength(trial, direction=layout.direction, language=layout.language) > WIDTH - 2 * GAP:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current] if current else lines
