"""Cell widths as a terminal counts them, for the scripts with spacing vowel signs (Bengali,
Gurmukhi for Panjabi).

Rich (and so Textual) measures a spacing combining mark (Unicode category Mc, such as Bengali's
"ি" or Gurmukhi's "ਾ") as taking no cell; glibc's wcwidth, which tmux and foot use, gives it one.
A Bengali line Textual thinks 80 cells wide then needs 94 on the terminal, and its end is cut
off. Counting each such mark as one cell makes Textual wrap where the terminal needs it; on a
terminal that joins the mark into its letter the line is only a little shorter than it could be.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import rich.cells


def _with_spacing_marks(widths):
    """Rich's (start, end, width) table with every spacing mark in a zero-width range given one cell."""
    table = []
    for start, end, width in widths:
        if width != 0:
            table.append((start, end, width))
            continue
        run_start, run_width = start, None
        for codepoint in range(start, end + 1):
            cells = 1 if unicodedata.category(chr(codepoint)) == "Mc" else 0
            if run_width is None:
                run_width = cells
            elif cells != run_width:
                table.append((run_start, codepoint - 1, run_width))
                run_start, run_width = codepoint, cells
        table.append((run_start, end, run_width))
    return table


def count_spacing_marks() -> None:
    """From now on, in this process, a spacing mark takes one cell (idempotent)."""
    original = rich.cells.load_cell_table
    if getattr(original, "counts_spacing_marks", False):
        return

    @cache
    def load(unicode_version: str = "auto"):
        table = original(unicode_version)
        return table._replace(widths=_with_spacing_marks(table.widths))

    load.counts_spacing_marks = True  # type: ignore[attr-defined]
    rich.cells.load_cell_table = load
    rich.cells.get_character_cell_size.cache_clear()
    rich.cells.cached_cell_len.cache_clear()
