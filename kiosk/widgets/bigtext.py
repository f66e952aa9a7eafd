"""A reference in large characters, so that it can be read from a step away and copied down.

Textual's `Digits` draws only digits and A-F; references use 30 letters and digits (no 0/O,
1/I/L or U). This is a 5x7 dot font drawn with half blocks, four terminal rows high and six
columns a character, so `K7Q-4MB-XP9Z` takes 68 columns and fits an 80-column kiosk. Where there
is not room, the reference is drawn as plain bold text instead; it is always shown in plain text
beside it too, for read-aloud and for anyone who reads the small letters more easily.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

#: Each glyph: seven rows of five dots (three for the hyphen), "#" on.
GLYPHS: dict[str, tuple[str, ...]] = {
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": (".###.", "#...#", "....#", "..##.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    "A": (".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "B": ("####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."),
    "C": (".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."),
    "D": ("####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."),
    "E": ("#####", "#....", "#....", "####.", "#....", "#....", "#####"),
    "F": ("#####", "#....", "#....", "####.", "#....", "#....", "#...."),
    "G": (".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"),
    "H": ("#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"),
    "J": ("..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
    "N": ("#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"),
    "P": ("####.", "#...#", "#...#", "####.", "#....", "#....", "#...."),
    "Q": (".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"),
    "S": (".####", "#....", "#....", ".###.", "....#", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "V": ("#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."),
    "X": ("#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"),
    "Y": ("#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."),
    "Z": ("#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"),
    "-": ("...", "...", "...", "###", "...", "...", "..."),
    " ": ("...", "...", "...", "...", "...", "...", "..."),
}
_HALVES = {(False, False): " ", (True, False): "▀", (False, True): "▄", (True, True): "█"}
ROWS = 4


def big_lines(text: str) -> list[str] | None:
    """`text` drawn in the dot font, four lines; None if a character has no glyph."""
    if any(char not in GLYPHS for char in text):
        return None
    glyphs = [GLYPHS[char] + ("." * len(GLYPHS[char][0]),) for char in text]
    lines = []
    for row in range(0, 8, 2):
        cells = []
        for glyph in glyphs:
            pairs = zip(glyph[row], glyph[row + 1], strict=True)
            cells.append("".join(_HALVES[top == "#", bottom == "#"] for top, bottom in pairs))
        lines.append(" ".join(cells))
    return lines


def big_width(text: str) -> int:
    return sum(len(GLYPHS.get(char, ("?",))[0]) for char in text) + max(len(text) - 1, 0)


class BigText(Widget):
    """Large characters where they fit, else plain bold text; selectable by nobody."""

    DEFAULT_CSS = """
    BigText { width: 1fr; height: auto; }
    """
    ALLOW_SELECT = False

    def __init__(self, text: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = text

    def _fits(self, width: int) -> bool:
        return big_lines(self.text) is not None and big_width(self.text) <= width

    def get_content_height(self, container, viewport, width: int) -> int:
        return ROWS if self._fits(width) else 1

    def render(self) -> Text:
        lines = big_lines(self.text) if self._fits(self.content_region.width or self.size.width) else None
        if lines is None:
            return Text(self.text, style="bold", no_wrap=True, justify="center")
        return Text("\n".join(lines), no_wrap=True, justify="center")
