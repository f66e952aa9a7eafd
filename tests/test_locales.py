"""The language machinery: complete catalogues, placeholders intact, plurals, names, review status."""

from __future__ import annotations

import gettext
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

import locales
from sync.flow import Invalid

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")
TRANSLATED = [code for code in locales.shipped() if code != locales.SOURCE_LANGUAGE]


def catalogue(code: str):
    with (locales.LOCALE_DIR / code / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=code)


def test_welsh_ships_from_the_start():
    assert locales.shipped()[:2] == ["en", "cy"]
    assert locales.native_name("cy") == "Cymraeg" and locales.native_name("en") == "English"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The template as `make extract` would write it from today's sources."""
    out = tmp_path_factory.mktemp("pot") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg", "-k", "NP_:1,2",
                    "--no-location",
                    "-c", "TRANSLATORS:", "-o", str(out), "."], cwd=ROOT, check=True, capture_output=True)
    with out.open("rb") as handle:
        return read_po(handle)


def test_the_shipped_template_is_up_to_date_with_the_sources(template):
    with (locales.LOCALE_DIR / "messages.pot").open("rb") as handle:
        shipped = read_po(handle)
    assert {m.id for m in template if m.id} == {m.id for m in shipped if m.id}, "run `make update`"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_with_placeholders_intact(code, template):
    translated = catalogue(code)
    for message in template:
        if not message.id:
            continue
        entry = translated.get(message.id)
        assert entry is not None, f"{code}: missing {message.id!r}"
        assert not entry.fuzzy, f"{code}: fuzzy {message.id!r}"
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings), f"{code}: untranslated {message.id!r}"
        expected = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, f"{code}: placeholders differ in {string!r}"


NUMBERS_THAT_MATTER = (0, 1, 2, 3, 5, 6, 11, 100)


def plural_forms_needed(code: str) -> int:
    """How many forms the installed Babel's gettext rule for the language has (the authority, not a table)."""
    return Catalog(locale=code).num_plurals


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_plural_header_is_the_installed_babels_rule(code):
    """A Babel upgrade that changes a language's plural rule fails here until the catalogue follows it."""
    translated = catalogue(code)
    assert translated.plural_forms == Catalog(locale=code).plural_forms, "move the catalogue onto Babel's rule"
    pick = gettext.c2py(translated.plural_expr)
    category = Locale.parse(code).plural_form
    for n in NUMBERS_THAT_MATTER:
        for m in NUMBERS_THAT_MATTER:  # same CLDR category, same form; different category, different form
            assert (pick(n) == pick(m)) == (category(n) == category(m)), f"{code}: {n} and {m}"


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_plural_message_has_every_form_the_language_needs(code):
    translated = catalogue(code)
    needed = plural_forms_needed(code)
    plurals = [message for message in translated if message.id and isinstance(message.id, tuple)]
    assert plurals, f"{code}: no plural messages at all"
    for message in plurals:
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(forms) == needed, f"{code}: {message.id[0]!r} has {len(forms)} forms, the language needs {needed}"
        assert all(forms), f"{code}: {message.id[0]!r} has an empty form"


@pytest.mark.parametrize("code", TRANSLATED)
def test_plural_forms_follow_the_language_for_the_numbers_that_matter(code):
    """Each number picks the form the language's own rule (Babel's header) says, number included."""
    translated = catalogue(code)
    pick = gettext.c2py(translated.plural_expr)
    singular, plural = "Your answer must be {max} character or fewer", "Your answer must be {max} characters or fewer"
    forms = translated.get(singular).string
    t = locales.Translator(code)
    for n in NUMBERS_THAT_MATTER:
        error = Invalid(singular, {"max": n}, plural=plural, n=n)
        assert error.render(t) == forms[pick(n)].format(max=n)
        assert str(n) in error.render(t)


def test_welsh_plurals_use_all_six_forms():
    """Zero, one, two, few (3), many (6) and other: CLDR's Welsh, as Babel 2.19 ships it."""
    assert plural_forms_needed("cy") == catalogue("cy").num_plurals == 6
    welsh = locales.Translator("cy")
    words = {n: Invalid("Your answer must be {max} character or fewer", {"max": n},
                        plural="Your answer must be {max} characters or fewer", n=n).render(welsh) for n in (1, 4)}
    assert words[1] != words[4].replace("4", "1"), "one and other read the same"


def test_text_and_dates_come_in_the_residents_language():
    welsh = locales.translator("cy")
    assert welsh("Yes") != "Yes" and welsh("Missed bin collection") != "Missed bin collection"
    moment = datetime(2026, 11, 24, 15, 30, tzinfo=timezone.utc)
    assert "Tachwedd" in welsh.date(moment.date())
    assert locales.translator("en").date(moment.date()) == "24 November 2026"
    assert welsh("") == ""


def test_only_reviewed_languages_when_asked():
    assert locales.enabled([], reviewed_only=False)[:2] == ["en", "cy"]
    assert locales.enabled([], reviewed_only=True) == ["en"]  # Welsh is still a draft
    assert locales.enabled(["cy", "xx"], reviewed_only=False) == ["en", "cy"]
    assert not locales.manifest("cy").reviewed and locales.manifest("en").reviewed


#: Every language the languages issue asks for, English first.
ALL_LANGUAGES = ["en", "cy", "pl", "ro", "pa", "ur", "pt", "es", "ar", "bn"]


def test_all_ten_languages_ship_with_a_manifest():
    assert locales.shipped() == ALL_LANGUAGES
    for code in ALL_LANGUAGES[1:]:
        assert (locales.LOCALE_DIR / code / "manifest.toml").exists(), code


@pytest.mark.parametrize("code", locales.shipped())
def test_each_language_is_named_in_itself_as_cldr_names_it(code):
    """The language menu reads the names from the manifests (fast at start-up); they must be the
    names CLDR gives, which is what a speaker of the language looks for."""
    assert locales.manifest(code).name == locales.cldr_name(code)
    assert locales.native_name(code) == locales.cldr_name(code)


def test_the_readme_states_each_languages_review_status_as_its_manifest_does():
    rows = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        found = re.match(r"\| (.+?) \| `([a-z]{2})` \| (.+) \|$", line)
        if found:
            rows[found[2]] = found[3]
    assert sorted(rows) == sorted(locales.shipped())
    for code in TRANSLATED:
        reviewed = locales.manifest(code)
        if reviewed.reviewed:
            assert reviewed.reviewed_by in rows[code] and reviewed.reviewed_on in rows[code], code
        else:
            assert "not yet reviewed" in rows[code], code


@pytest.mark.parametrize("code", ALL_LANGUAGES)
def test_dates_and_numbers_are_written_the_languages_way(code):
    """Babel's data for each locale: the month in the language's words, its own digits grouping."""
    from babel import Locale
    from babel.dates import format_date
    from babel.numbers import format_decimal

    t = locales.Translator(code)
    day = datetime(2026, 11, 24).date()
    babel_locale = Locale.parse("en_GB" if code == "en" else code)
    assert t.date(day) == format_date(day, "long", locale=babel_locale)
    assert t.number(1234567.5) == format_decimal(1234567.5, locale=babel_locale)
    if code not in ("en", "cy"):
        assert t.date(day) != locales.Translator("en").date(day), "not the English month"


@pytest.mark.parametrize("code", locales.shipped())
def test_whole_numbers_are_written_as_cldr_writes_them_with_or_without_its_data(code):
    """Counts under 1,000 are written without reading CLDR (Translator.number); they must be what
    CLDR writes in every shipped language, and larger ones still come from CLDR (grouped)."""
    from babel.numbers import format_decimal

    translator = locales.translator(code)
    assert all(translator.number(n) == format_decimal(n, locale=translator.locale) for n in range(1000))
    assert translator.number(12345) == format_decimal(12345, locale=translator.locale)
    assert translator.number(2.5) == format_decimal(2.5, locale=translator.locale)
