"""Languages: the gettext catalogues and the few functions every channel uses to speak them.

All resident-facing text has one home, `locales/<lang>/LC_MESSAGES/messages.po`, English being
the source language (message ids). Code marks text with `_()`/`N_()` and translates it through a
`Translator` for the resident's language, which also formats dates and numbers with Babel. Each
language has a `manifest.toml` saying whether a native speaker has reviewed it: until then it is
an honest draft, and `languages.reviewed_only` hides it.
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from dataclasses import dataclass
from functools import cache, cached_property
from gettext import GNUTranslations, NullTranslations, translation
from pathlib import Path

from babel import Locale

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
#: Display order: English, Welsh, then community languages by number of speakers (Census 2021).
PREFERRED_ORDER = ("en", "cy", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn")
RIGHT_TO_LEFT = frozenset({"ar", "ur"})
#: The source language has no manifest; its name is CLDR's, written here so that naming it (on
#: the kiosk's first page) does not read CLDR's English data (a test holds the two equal).
SOURCE_NAME = "English"


def N_(message: str) -> str:
    """Mark a string for extraction where it is defined; it is translated where it is shown."""
    return message


def NP_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular and plural pair for extraction as one plural message (keyword `NP_:1,2`)."""
    return singular, plural


def shipped() -> list[str]:
    """Every language with a catalogue in this package, English first."""
    found = {path.parent.parent.name for path in LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")}
    found.add(SOURCE_LANGUAGE)
    rank = {code: index for index, code in enumerate(PREFERRED_ORDER)}
    return sorted(found, key=lambda code: (rank.get(code, len(rank)), code))


@dataclass(frozen=True)
class Manifest:
    code: str
    name: str = ""
    reviewed_by: str = ""
    reviewed_on: str = ""
    notes: str = ""

    @property
    def reviewed(self) -> bool:
        return self.code == SOURCE_LANGUAGE or bool(self.reviewed_by and self.reviewed_on)


@cache
def manifest(code: str) -> Manifest:
    path = LOCALE_DIR / code / "manifest.toml"
    if code == SOURCE_LANGUAGE:
        return Manifest(code, SOURCE_NAME)
    if not path.exists():
        return Manifest(code)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Manifest(code, str(data.get("name", "")), str(data.get("reviewed_by", "")),
                    str(data.get("reviewed_on", "")), str(data.get("notes", "")))


def enabled(wanted: list[str], reviewed_only: bool) -> list[str]:
    """The languages to offer: `wanted` (or every shipped one) that ship, reviewed if required.

    English is always offered: it is the source every message falls back to.
    """
    available = shipped()
    chosen = [code for code in (wanted or available) if code in available]
    if reviewed_only:
        chosen = [code for code in chosen if manifest(code).reviewed]
    if SOURCE_LANGUAGE not in chosen:
        chosen.insert(0, SOURCE_LANGUAGE)
    return chosen


@cache
def native_name(code: str) -> str:
    """A language named in itself, as a person looking for it would recognise it: "Cymraeg".

    Written in the language's manifest (the language menu is the kiosk's first page, and reading
    every language's CLDR data to name them cost a tenth of a second at each start); Babel's name
    for a language without one."""
    return manifest(code).name or cldr_name(code)


def cldr_name(code: str) -> str:
    """The language's name in itself by Babel's CLDR data, capitalised as a menu shows it."""
    name = Locale.parse(code).get_display_name(code) or code
    return name[:1].upper() + name[1:]


@cache
def _translations(code: str) -> NullTranslations:
    if code == SOURCE_LANGUAGE:
        return NullTranslations()
    # The standard library's reader (Babel's Translations is one with more, and its module loads
    # all of Babel's date and number formatting, which most pages never use).
    loaded = translation(DOMAIN, str(LOCALE_DIR), [code], fallback=True)
    if not isinstance(loaded, GNUTranslations):
        log.warning("no compiled catalogue for %s (run `make compile`); showing English", code)
    return loaded


class Translator:
    """Text, plurals, dates and numbers for one language."""

    def __init__(self, code: str = SOURCE_LANGUAGE) -> None:
        self.code = code
        self._translations = _translations(code)

    @cached_property
    def locale(self) -> Locale:
        """CLDR data for dates and numbers, read when first needed (most pages show neither).
        English here is British English: dates as "23 November 2026"."""
        return Locale.parse("en_GB" if self.code == SOURCE_LANGUAGE else self.code)

    @property
    def right_to_left(self) -> bool:
        return self.code in RIGHT_TO_LEFT

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message) if message else message

    __call__ = gettext

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def datetime(self, moment: dt.datetime, format: str = "medium") -> str:
        from babel.dates import format_datetime  # here: most pages show no date (as `locale`)

        return format_datetime(moment, format=format, locale=self.locale)

    def date(self, day: dt.date, format: str = "long") -> str:
        from babel.dates import format_date  # as in datetime

        return format_date(day, format=format, locale=self.locale)

    def number(self, value: float | int) -> str:
        """A number as the language writes it. A whole number under 1,000 is written alike in every
        shipped language (Latin digits, nothing to group: a test holds it to CLDR's), so the counts
        and minutes most pages show cost no CLDR data, 4 MB of a kiosk's memory."""
        if isinstance(value, int) and 0 <= value < 1000:
            return str(value)
        from babel.numbers import format_decimal  # as in datetime

        return format_decimal(value, locale=self.locale)


@cache
def translator(code: str) -> Translator:
    return Translator(code)
