"""Answers: the questions a resident is asked, and how what they typed, tapped or texted becomes a
clean value or an `Invalid` whose message they understand.

Text is cleaned of terminal escapes, control characters and bidi overrides before anything else,
as a resident's words end up on a shared kiosk screen, in staff terminals and in the council's
systems. Nothing here does I/O, and nothing here knows about screens.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from locales import N_, NP_, Translator

DESCRIPTION_MAX = 4000  # Open311's limit for `description`
STRING_MAX = 250
NAME_MAX = 100
PLACE_MIN = 3
SHOWN_MAX = 30  # characters of a refused answer shown back to the resident
#: Numbers from Ofcom's ranges for drama, which ring nobody, as examples a resident can follow.
PHONE_EXAMPLES = {"mobile": "07700 900 982", "landline": "01632 960 001"}
UK_LAT = (49.0, 61.5)
UK_LONG = (-9.0, 2.5)

Translate = Callable[[str], str]


def _same(message: str) -> str:
    return message


@dataclass(frozen=True)
class Choice:
    key: str
    label: str  # message id


@dataclass(frozen=True)
class Question:
    key: str  # "location", "attribute.<code>", "description", "name", "phone", "email", "updates_by_text", "consent"
    kind: str  # location | string | number | datetime | text | singlevaluelist | multivaluelist | phone | email | yesno
    prompt: str  # message id; the heading on a screen, the question in a text
    hint: str = ""
    required: bool = False
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None

    @property
    def attribute_code(self) -> str | None:
        return self.key.removeprefix("attribute.") if self.key.startswith("attribute.") else None


@dataclass
class Invalid(Exception):
    """An answer that cannot be taken, with a message for the resident (a message id and its
    `{placeholders}`; `plural` and `n` when the message depends on a number)."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)
    plural: str | None = None
    n: int | None = None

    def render(self, translator: Translator) -> str:
        """The message in the resident's language. In a right-to-left one, what they typed is kept
        whole and in its order (a left-to-right isolate, as kiosk/bidi.py's isolate): "07700 900 982"
        would otherwise read "982 900 07700"."""
        if self.plural is not None and self.n is not None:
            text = translator.ngettext(self.message, self.plural, self.n)
        else:
            text = translator.gettext(self.message)
        params = {key: f"\u2066{value}\u2069" if translator.right_to_left and isinstance(value, str) else value
                  for key, value in self.params.items()}
        return text.format(**params)


_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def clean_text(raw: str, *, multiline: bool = False) -> str:
    """Text without terminal escape sequences, control characters or bidi overrides.

    A resident's words end up on a shared kiosk screen, in staff terminals and in the council's
    systems: none of them should be able to move a cursor, recolour a screen or reverse text.
    """
    raw = str(raw)
    if raw.isascii() and raw.isprintable():  # most answers: nothing to take out, nothing to compose
        return " ".join(raw.split())
    return _clean(raw, multiline)


def _clean(raw: str, multiline: bool) -> str:
    text = _ESCAPES.sub("", unicodedata.normalize("NFC", raw)).translate(_BIDI_CONTROLS)
    kept = []
    for char in text.replace("\r\n", "\n").replace("\r", "\n"):
        if char == "\n" and multiline:
            kept.append(char)
        elif char in "\n\t":
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co", "Cn"):
            kept.append(char)
    cleaned = "".join(kept)
    if multiline:
        lines = [" ".join(line.split()) for line in cleaned.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return " ".join(cleaned.split())


def _fold(text: str) -> str:
    """Case and accents ignored, for matching a typed answer against a list."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(char for char in decomposed if not unicodedata.combining(char)).split())


# ---------------------------------------------------------------------------------------------
# Validating answers

def validate(question: Question, raw: Any, *, translate: Translate = _same, today: date | None = None) -> Any:
    """The clean value for `raw`, or raise Invalid. An empty optional answer is None.

    `translate` lets list answers be given by their label in the resident's language as well
    as by number, key or English label; `today` anchors "today"/"yesterday" and date checks.
    """
    if question.kind == "location":
        return _location(raw)
    if question.kind == "multivaluelist":
        return _many(question, raw, translate)
    if isinstance(raw, (int, float)) and not isinstance(raw, bool) and question.kind == "number":
        return _number(raw)  # a JSON number from the importer
    text = clean_text("" if raw is None else str(raw), multiline=question.kind == "text")
    if not text:
        if question.required:
            raise Invalid(N_("Choose an answer") if question.choices else N_("Enter an answer"))
        return None
    return _typed(question, text, translate, today)


def _typed(question: Question, text: str, translate: Translate, today: date | None) -> Any:
    """A cleaned, non-empty answer checked as its question's kind asks."""
    if question.kind in ("string", "text"):
        limit = question.max_length or STRING_MAX
        if len(text) > limit:
            singular, plural = NP_("Your answer must be {max} character or fewer",
                                   "Your answer must be {max} characters or fewer")
            raise Invalid(singular, {"max": limit}, plural=plural, n=limit)
        return text
    if question.kind == "number":
        return _number(text)
    if question.kind == "datetime":
        return _date(text, translate, today or date.today())
    if question.kind in ("singlevaluelist", "yesno"):
        return _one(question, text, translate)
    if question.kind == "phone":
        return phone_number(text)
    if question.kind == "email":
        return _email(text)
    raise ValueError(f"unknown question kind {question.kind!r}")


def _number(text: Any) -> int | float:
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        raise Invalid(N_("Enter a number, like 3")) from None
    if not value.is_finite():
        raise Invalid(N_("Enter a number, like 3"))
    if value < 0:
        raise Invalid(N_("Enter a number that is 0 or more"))
    if value > 1_000_000:
        raise Invalid(N_("Enter a smaller number"))
    return int(value) if value == value.to_integral_value() else float(value)


_DATE_FORMS = (
    re.compile(r"^(?P<d>\d{1,2})[/.\-\s](?P<m>\d{1,2})[/.\-\s](?P<y>\d{2}|\d{4})$"),
    re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})$"),
)
TODAY, YESTERDAY = N_("today"), N_("yesterday")


def _date(text: str, translate: Translate, today: date) -> str:
    """A day as ISO 8601 (`2026-11-24`), from UK-style `24/11/2026`, ISO, or today/yesterday."""
    folded = _fold(text)
    for word, offset in ((TODAY, 0), (YESTERDAY, 1)):
        if folded in (_fold(word), _fold(translate(word))):
            return (today - timedelta(days=offset)).isoformat()
    example = {"example": today.strftime("%d/%m/%Y")}
    for form in _DATE_FORMS:
        if match := form.match(folded):
            year = int(match["y"]) + (2000 if len(match["y"]) == 2 else 0)
            try:
                day = date(year, int(match["m"]), int(match["d"]))
            except ValueError:
                raise Invalid(N_("Enter a real date, like {example}"), example) from None
            if abs((day - today).days) > 366:
                raise Invalid(N_("Enter a date within a year of today, like {example}"), example)
            return day.isoformat()
    raise Invalid(N_("Enter a date, like {example}"), example)


def _match_choice(question: Question, text: str, translate: Translate) -> str | None:
    folded = _fold(text).rstrip(".")
    if folded.isdigit() and 1 <= int(folded) <= len(question.choices):
        return question.choices[int(folded) - 1].key
    for choice in question.choices:
        if folded in (_fold(choice.key), _fold(choice.label), _fold(translate(choice.label))):
            return choice.key
    if question.kind == "yesno" and folded:
        if folded in ("y", "yeah", "yep", "ok", "okay", _fold(translate(N_("y")))):
            return "yes"
        if folded in ("n", "nope", _fold(translate(N_("n")))):
            return "no"
    return None


def _one(question: Question, text: Any, translate: Translate) -> str:
    key = _match_choice(question, str(text), translate)
    if key is None:
        if question.kind == "yesno":
            raise Invalid(N_("Answer yes or no"))
        raise Invalid(N_("Choose one of the numbered options"))
    return key


_SPLIT = re.compile(r"\s*(?:[,;/&+]|\band\b)\s*|\s+(?=\d)")


def _many(question: Question, raw: Any, translate: Translate) -> list[str] | None:
    """Several choices: a list, or text such as "1, 3", "1 3" or "sofa and fridge"."""
    if isinstance(raw, (list, tuple)):
        parts = [clean_text(str(part)) for part in raw]
    else:
        text = clean_text(raw or "")
        parts = _SPLIT.split(text) if text else []
    parts = [part for part in parts if part]
    if not parts:
        if question.required:
            raise Invalid(N_("Choose at least one option"))
        return None
    keys: list[str] = []
    for part in parts:
        key = _match_choice(question, part, translate)
        if key is None:
            raise Invalid(N_("Choose from the numbered options, like 1 or 1, 3"))
        if key not in keys:
            keys.append(key)
    return keys


def phone_number(text: str) -> str:
    """A phone number of a valid UK format (or international, with +) in E.164 (sync/phones.py), or
    Invalid, which shows the resident what they typed."""
    from sync import phones  # here, not at the top: phonenumbers' metadata is a cost every kiosk start would pay

    number = phones.e164(text)
    if number is None:
        shown = text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX - 1] + "…"
        # TRANSLATORS: {typed} is what the resident typed, shown back to them in quotation marks; {mobile}
        # and {landline} are example numbers (07700 900 982 and 01632 960 001).
        raise Invalid(N_("“{typed}” is not a phone number we can use. Enter one like {mobile} or {landline}"),
                      {"typed": shown, **PHONE_EXAMPLES})
    return number


def _email(text: str) -> str:
    # here, not at the top: email-validator compiles its grammar at import, which a start need not pay
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        raise Invalid(N_("Enter an email address in the right format, like name@example.com")) from None


def _location(raw: Any) -> dict[str, Any]:
    """A place in Open311's own terms: `address_id` (a UPRN), `address_string`, `lat`/`long`.

    Accepts a gazetteer result (anything with uprn, address, lat and lon), a dict already in
    Open311 terms (as the importer reads them), or the place described in words.
    """
    if raw is None or raw == "":
        raise Invalid(N_("Choose an address, or describe where it is"))
    if hasattr(raw, "uprn"):
        return {"address_id": str(raw.uprn), "address_string": raw.address, "lat": raw.lat, "long": raw.lon}
    if isinstance(raw, Mapping):
        return _open311_place(raw)
    text = clean_text(str(raw))
    if len(text) < PLACE_MIN:
        raise Invalid(N_("Describe the place in a few more words, like \"outside the library on Market Square\""))
    if len(text) > STRING_MAX:
        raise Invalid(N_("Describe the place in {max} characters or fewer"), {"max": STRING_MAX})
    return {"address_string": text}


def _open311_place(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A place given in Open311's terms, its coordinates checked to be in the UK, its words cleaned."""
    place: dict[str, Any] = {}
    if raw.get("lat") not in (None, "") or raw.get("long") not in (None, ""):
        try:
            lat, long = float(raw["lat"]), float(raw["long"])
        except (KeyError, TypeError, ValueError):
            raise Invalid(N_("Give both a latitude and a longitude, as numbers")) from None
        if not (UK_LAT[0] <= lat <= UK_LAT[1] and UK_LONG[0] <= long <= UK_LONG[1]):
            raise Invalid(N_("That place is not in the UK"))
        place.update(lat=lat, long=long)
    if raw.get("address_id"):
        place["address_id"] = clean_text(str(raw["address_id"]))[:STRING_MAX]
    if raw.get("address_string"):
        place["address_string"] = clean_text(str(raw["address_string"]))[:STRING_MAX]
    if not place:
        raise Invalid(N_("Choose an address, or describe where it is"))
    return place
