"""Which language a first text is in, to offer it first in the language menu (issue 17).

Read from what ships with the project, nothing downloaded: the script a text is written in
(Gurmukhi is Panjabi, Bengali script Bengali; Arabic script is Arabic or Urdu, told apart by the
letters only one of them uses), the letters only one Latin-script language uses (ł, ș, ã, ñ, ŵ...),
and the words of each language's own catalogue (every translated message, keywords and little
words included) that English's do not have. A guess is only an offer: the resident still chooses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

from locales import translator
from sms.recognise import words_of

#: Letters written in one shipped language alone (folded as `plain` folds them: accents off).
_LETTERS = {"pl": "łąęśźżćń", "ro": "ășşțţ", "pt": "ãõ", "es": "ñ¿¡", "cy": "ŵŷ"}
#: Arabic-script letters of Urdu (and not of Arabic), and of Arabic (and not of Urdu).
_URDU = frozenset("ٹڈڑںےہھۓیکگپچ")
_ARABIC = frozenset("ةيكىأإآ")
_SCRIPTS = (("pa", "\u0a00", "\u0a7f"), ("bn", "\u0980", "\u09ff"))


@lru_cache(maxsize=32)
def _vocabulary(code: str) -> frozenset[str]:
    """The folded words of a language's catalogue (its messages as translated)."""
    catalogue = getattr(translator(code)._translations, "_catalog", {})
    return frozenset(word for text in catalogue.values() if isinstance(text, str) for word in words_of(text))


@lru_cache(maxsize=1)
def _english() -> frozenset[str]:
    catalogue = getattr(translator("cy")._translations, "_catalog", {})
    return frozenset(word for key in catalogue for text in (key if isinstance(key, tuple) else (key,))
                     if isinstance(text, str) for word in words_of(text))


def guess(text: str, languages: Iterable[str], ignore: Iterable[str] = ()) -> tuple[str, ...]:
    """The offered languages `text` is most likely in, best first: one, two where it cannot tell
    (Arabic and Urdu written with the letters they share), or none (English, or nothing to go on).
    Words in `ignore` (a place's) say nothing of the language."""
    offered = tuple(languages)
    by_script = _script(text, offered)
    if by_script is not None:
        return by_script
    place = set(words_of(" ".join(ignore)))
    words = [word for word in words_of(text) if word not in place]
    scores = {code: _score(code, text, words) for code in offered if code != "en"}
    english = sum(word in _english() for word in words)
    ranked = sorted((score, code) for code, score in scores.items() if score > english and score >= 1)
    if not ranked:
        return ()
    best = ranked[-1][0]
    return tuple(code for score, code in reversed(ranked) if score == best)[:2]


def _script(text: str, offered: tuple[str, ...]) -> tuple[str, ...] | None:
    """The language(s) a non-Latin script says, or None for a Latin-script text."""
    for code, low, high in _SCRIPTS:
        if any(low <= char <= high for char in text):
            return (code,) if code in offered else ()
    letters = {char for char in text if "\u0600" <= char <= "\u06ff"}
    if not letters:
        return None
    urdu, arabic = bool(letters & _URDU), bool(letters & _ARABIC)
    found = ("ur",) if urdu and not arabic else ("ar",) if arabic and not urdu else ("ar", "ur")
    return tuple(code for code in found if code in offered)


def _score(code: str, text: str, words: list[str]) -> float:
    """How much of `text` is in language `code`: its own words (less for words other languages
    share), and its own letters."""
    vocabulary = _vocabulary(code)
    english = _english()
    found = sum(1.0 for word in words if word in vocabulary and word not in english)
    letters = text.casefold()
    return found + 2.0 * sum(letter in letters for letter in _LETTERS.get(code, ""))
