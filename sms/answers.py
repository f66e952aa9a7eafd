"""Reading a resident's answer, written once for every question the bot asks.

Each mode of the conversation says what it accepts: a menu or a list of places takes a number
from it; a yes-or-no question takes the yes and no words of any offered language (and whatever
the flow's own validation accepts); the read-back takes only the YES words of the resident's own
language, never a number, because sending a request is the one answer that cannot be undone.
"""

from __future__ import annotations

import re
from functools import lru_cache

from sms import keywords as kw

_NUMBER = re.compile(r"^\s*(\d{1,3})\s*[.)]?\s*$")


def number(text: str) -> int | None:
    """The number a reply is ("3", " 3. ", "3)"), or None."""
    found = _NUMBER.match(text)
    return int(found.group(1)) if found else None


def choice(text: str, count: int) -> int | None:
    """The 0-based index of the option a reply picks from `count` numbered ones, or None."""
    picked = number(text)
    return picked - 1 if picked is not None and 1 <= picked <= count else None


def yes_or_no(keywords: kw.Keywords, text: str) -> str | None:
    """"yes" or "no" when the whole reply is one of those words in any offered language."""
    if keywords.means(text, kw.YES):
        return "yes"
    if keywords.means(text, kw.NO):
        return "no"
    return None


def confirmation(keywords: kw.Keywords, text: str, language: str) -> str | None:
    """The read-back's answer: "yes" only for a YES word of `language` (its English words
    included, as posters use them: sending needs the resident's own word), "no" for a NO word of
    any offered language (as at any yes-or-no question: not sending is always safe), else None."""
    if kw.fold(text) in _words(kw.YES_WORDS, language):
        return "yes"
    return "no" if keywords.means(text, kw.NO) else None


@lru_cache(maxsize=64)
def _words(message: str, language: str) -> frozenset[str]:
    return frozenset(kw.words(message, language))
