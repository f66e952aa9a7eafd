"""Near matches of a word or phrase among many, for the recogniser's keywords and streets."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from rapidfuzz import fuzz, process


class Fuzzy:
    """Strings to find near matches of (fuzz.ratio), kept in order of length.

    fuzz.ratio cannot reach a cutoff between two strings whose lengths differ too much (it is at
    most 200 * shorter / (both lengths together)), so a look-up compares the query only with the
    strings whose length allows it: a fraction of them. Matches come back exactly as
    `process.extract` over all the strings would give them: best first, ties in the strings'
    original order (their ids, which ascend with it), at most `limit`.
    """

    def __init__(self, strings: list[str], ids: list[int] | None = None) -> None:
        ids = ids if ids is not None else list(range(len(strings)))
        order = sorted(range(len(strings)), key=lambda index: len(strings[index]))
        self.strings = [strings[index] for index in order]
        self.positions = [ids[index] for index in order]  # what each string stands for (ascending)
        self.lengths = [len(string) for string in self.strings]

    def extract(self, query: str, cutoff: float, limit: int) -> list[tuple[str, float, int]]:
        size = len(query)
        low = bisect_left(self.lengths, size * cutoff / (200 - cutoff) - 1e-9)
        high = bisect_right(self.lengths, size * (200 - cutoff) / max(cutoff, 1e-9) + 1e-9)
        if low >= high:
            return []
        found = process.extract(query, self.strings[low:high], scorer=fuzz.ratio, score_cutoff=cutoff, limit=None)
        matches = sorted(((choice, score, self.positions[low + index]) for choice, score, index in found),
                         key=lambda match: (-match[1], match[2]))
        return matches[:limit]
