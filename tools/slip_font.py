"""Build the one font the printed reference draws its pictured lines with (sync/printing/fonts/).

A receipt printer has character sets for Latin (and a few more) only: a line in Arabic, Urdu, Bengali
or Punjabi (Gurmukhi), or with a letter no code page holds (Welsh ŵ, Romanian ș), is printed as a
picture drawn with this font. It is Noto (SIL Open Font License 1.1, OFL.txt beside it): Noto Sans
for Latin, Noto Sans Arabic, Noto Sans Bengali and Noto Sans Gurmukhi, each cut down to the blocks a
slip can hold (fontTools' subsetter, hinting dropped: a 203 dpi printer draws no better with it, and
the font's shaping rules kept) and merged into one file, so that a right-to-left line with a street
name or STATUS in it is shaped and ordered as one run.

The sources are Debian's fonts-noto-core (`apt-get install fonts-noto-core`), only needed to run this
again; a kiosk needs nothing but the committed file.

    python tools/slip_font.py            # writes sync/printing/fonts/NotoSlip-Regular.ttf
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset
from fontTools.merge import Merger
from fontTools.ttLib import TTFont

SOURCES = Path("/usr/share/fonts/truetype/noto")
OUT = Path(__file__).resolve().parents[1] / "sync" / "printing" / "fonts" / "NotoSlip-Regular.ttf"

#: ASCII, Latin-1, punctuation, the joiners and bidi marks and isolates, and the dotted circle.
COMMON = [(0x20, 0x7E), (0xA0, 0xFF), (0x2010, 0x2027), (0x2030, 0x203A), (0x200B, 0x200F), (0x2066, 0x2069),
          (0x25CC, 0x25CC)]
#: Which Unicode ranges each source gives: Latin with Welsh's and Romanian's letters, then each script.
RANGES = {
    "NotoSans-Regular.ttf": COMMON + [(0x100, 0x17F), (0x218, 0x21B), (0x1E80, 0x1E85), (0x1EF2, 0x1EF3),
                                      (0x20AC, 0x20AC)],
    "NotoSansArabic-Regular.ttf": [(0x600, 0x6FF), (0x750, 0x77F), (0x200C, 0x200F)],
    "NotoSansBengali-Regular.ttf": [(0x980, 0x9FF), (0x964, 0x965), (0x200C, 0x200D), (0x25CC, 0x25CC)],
    "NotoSansGurmukhi-Regular.ttf": [(0xA00, 0xA7F), (0x964, 0x965), (0x200C, 0x200D), (0x25CC, 0x25CC)],
}


def cut(source: Path, ranges: list[tuple[int, int]], out: Path) -> Path:
    options = subset.Options()
    options.hinting = False
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.name_legacy = True
    options.notdef_outline = True
    options.glyph_names = False
    font = TTFont(source, recalcTimestamp=False)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[code for low, high in ranges for code in range(low, high + 1)])
    subsetter.subset(font)
    font.save(out)
    return out


def main() -> int:
    work = OUT.parent / "build"
    work.mkdir(exist_ok=True)
    parts = [str(cut(SOURCES / name, ranges, work / name)) for name, ranges in RANGES.items()]
    merged = Merger().merge(parts)
    merged["name"].setName("Noto Slip", 1, 3, 1, 0x409)
    merged["name"].setName("NotoSlip-Regular", 6, 3, 1, 0x409)
    # The same sources make the same bytes: the font is dated by its newest source, not by today.
    heads = [TTFont(part)["head"] for part in parts]
    merged["head"].created = min(head.created for head in heads)
    merged["head"].modified = max(head.modified for head in heads)
    merged.recalcTimestamp = False
    merged.save(OUT)
    for part in parts:
        Path(part).unlink()
    work.rmdir()
    print(f"{OUT}: {OUT.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
