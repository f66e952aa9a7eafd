"""One scrub for every place a council's (or a provider's) words are stored or logged.

A back office may echo the whole form back in its error: in JSON, in XML, as plain text, URL-
encoded, cut short. Whatever was sent must not come back into `last_error`, outbox events, the
status history or the logs. `scrub(text, fields)` takes the form fields as they were sent and
removes every value that could carry personal data, in any of the shapes it may come back in:

* free text (description, address, email, any value not listed below): whole and case-
  insensitively, each line or clause of it, escaped as JSON or XML or URL-encoded, and cut
  short (a council that quotes the first 200 characters, or an echo cut off at the end);
* names: the whole name, and first and last name each as a word (`first_name`, `last_name`,
  `name`: an echo may say `first_name=Ann; last_name=Resident`);
* phone numbers by their digits, in any format: spaces, dashes, dots, brackets, +44, 0044,
  `+44 (0)`, or the national 0;
* coordinates (`lat`, `long`) in any decimal form with at least two decimals, rounded or cut
  (52.2053 also as 52.205, 52.21, "52.2053,0.1218" or 52.20530000);
* attribute values, except the keys of a list attribute (`road`, `yes`: the council's own
  words, which say nothing about anyone) and values of fewer than four characters, which
  name nobody and would shred the text if removed wherever they occur.

Kept: our own vocabulary and identifiers (`service_code`, `device_id`, the council's ids).
An `api_key` field is removed like free text: a secret has no place in an error either.
What is removed reads "[removed]"; removing too much is harmless, too little is not.
"""

from __future__ import annotations

import functools
import html
import json
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable
from urllib.parse import quote, quote_plus

REMOVED = "[removed]"
#: Fields whose values are ours or the council's, never the resident's.
NOT_PERSONAL = frozenset({"service_code", "device_id", "service_request_id", "update_id", "status",
                          "updated_datetime", "jurisdiction_id"})
NAME_FIELDS = frozenset({"first_name", "last_name", "name"})
COORDINATE_FIELDS = frozenset({"lat", "long", "lon", "latitude", "longitude"})
#: Shorter free text is left alone (unless it is a name, which is matched as a whole word).
SHORTEST = 4
#: A value this long is also removed where only its start comes back (an echo cut short).
PREFIX = 12
_SEPARATORS = r"(?:[\s().\-/+]|%20)*"
_DECIMAL = re.compile(r"(?<![\d.])-?\d{1,3}\.\d{2,}(?![\d])")
_CLAUSES = re.compile(r"[\n\r;,]+|(?<=[.!?])\s+")
_WORD_START = re.compile(r"(?<!\w)\w")
_LETTER_BEFORE = r"(?<![^\W\d_])"
_LETTER_AFTER = r"(?![^\W\d_])"


def scrub(text: str, fields: Iterable[tuple[str, str]] = (), *, list_keys: Iterable[str] = ()) -> str:
    """`text` with every value of `fields` replaced by REMOVED. `fields`: (name, value) as sent
    (the form), plus any value held that the form carries reshaped (the resident's own words
    before the reference was added, the whole name as `name`); how each is found follows from
    its name (see the module's notes). `list_keys`: the keys of the list attributes in force,
    which are kept."""
    if not text:
        return text
    keys = {str(key).lower() for key in list_keys}
    spans: list[tuple[int, int]] = []
    lowered = text.lower()
    if len(lowered) != len(text):  # a letter whose lower case is longer: match as written
        lowered = text
    index: dict[str, list[int]] = {}  # every PREFIX characters of the text: where they begin
    for at in range(len(lowered) - PREFIX + 1):
        index.setdefault(lowered[at:at + PREFIX], []).append(at)
    found = _Text(lowered, index)
    for name, value in fields:
        value = str(value or "").strip()
        field = name.split("[", 1)[0].lower()
        if not value or field in NOT_PERSONAL:
            continue
        if field in NAME_FIELDS:
            spans += _name_spans(text, value)
        elif field in COORDINATE_FIELDS:
            spans += _coordinate_spans(text, value)
        elif field == "attribute" and (value.lower() in keys or len(value) < SHORTEST):
            continue
        else:
            spans += _value_spans(text, found, value)
    return _cut(text, spans)


def _cut(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with the spans (merged where they touch) replaced by REMOVED."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, at = [], 0
    for start, end in merged:
        out += [text[at:start], REMOVED]
        at = end
    return "".join(out) + text[at:]


def _value_spans(text: str, found: "_Text", value: str) -> list[tuple[int, int]]:
    """Free text: a phone number by its digits, and the value and each of its short clauses in
    every escaped form, whole, in part or cut short."""
    spans = _phone_spans(text, value)
    # a clause longer than PREFIX is found by the whole value's windows; shorter ones on their own
    pieces = {value} | {piece.strip() for piece in _CLAUSES.split(value) if len(piece.strip()) <= PREFIX}
    for piece in pieces:
        if len(piece) < SHORTEST:
            continue
        for form in _forms(piece):
            spans += _literal_spans(found, form.lower())
    return spans


@functools.lru_cache(maxsize=512)
def _windows(form: str) -> dict[str, list[int]]:
    """The PREFIX characters from each word start of a (long) form: where each begins. Cached:
    one submission's values are scrubbed several times over (each outcome, its event, its log)."""
    windows: dict[str, list[int]] = {}
    for word in _WORD_START.finditer(form):
        if word.start() + PREFIX > len(form):
            break
        windows.setdefault(form[word.start():word.start() + PREFIX], []).append(word.start())
    return windows


@functools.lru_cache(maxsize=512)
def _forms(value: str) -> frozenset[str]:
    """The shapes a value may come back in: as sent, JSON-escaped, XML-escaped, URL-encoded."""
    xml = html.escape(value, quote=False)
    return frozenset({value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], html.escape(value),
                      xml, xml.replace("'", "&apos;").replace('"', "&quot;"),
                      xml.replace("'", "&#39;").replace('"', "&#34;"), quote_plus(value), quote(value, safe="")})


class _Text:
    """The text being scrubbed, lower-cased, with where each PREFIX characters of it begin."""

    def __init__(self, lowered: str, index: dict[str, list[int]]) -> None:
        self.lowered, self.index = lowered, index


def _literal_spans(found: _Text, form: str) -> list[tuple[int, int]]:
    """Where `form` occurs whole; for a long one, also any part of it of PREFIX characters or
    more that begins at one of its words (a council that quotes a few words, or the first 200
    characters), as far as it goes on matching; and its start, cut off at the end of the text."""
    lowered, spans = found.lowered, []
    if len(form) <= PREFIX:
        start = lowered.find(form)
        while start != -1:
            spans.append((start, start + len(form)))
            start = lowered.find(form, start + len(form))
    else:
        windows = _windows(form)
        if len(found.index) < len(windows):  # look the smaller side up in the larger
            pairs = [(start, begin) for key, starts in found.index.items() for begin in windows.get(key, ())
                     for start in starts]
        else:
            pairs = [(start, begin) for key, begins in windows.items() for start in found.index.get(key, ())
                     for begin in begins]
        for start, begin in pairs:
            end = start + PREFIX
            while end < len(lowered) and begin + end - start < len(form) and lowered[end] == form[begin + end - start]:
                end += 1
            spans.append((start, end))
    for length in range(min(len(form), PREFIX) - 1, SHORTEST - 1, -1):  # an echo cut off mid-value
        start = len(lowered) - length
        # where the echo began, as the value began: not inside a word or a number (the last
        # digits of another phone number are no echo of this one's first)
        if lowered.endswith(form[:length]) and (start == 0 or not lowered[start - 1].isalnum()):
            spans.append((start, len(lowered)))
            break
    return spans


def _name_spans(text: str, value: str) -> list[tuple[int, int]]:
    """The whole name and each part of it as a word of its own, in any case and escaping."""
    parts = {value} | set(value.split())
    spans = []
    for part in parts:
        if len(part) < 2:
            continue
        for form in _forms(part):
            pattern = _LETTER_BEFORE + re.escape(form) + _LETTER_AFTER
            spans += [match.span() for match in re.finditer(pattern, text, re.IGNORECASE)]
    return spans


def phone_digits(value: str) -> str | None:
    """The digits that identify a phone number, whatever its format: a UK number without +44,
    0044 or its national 0 (+44 (0)7911 123456 and 07911-123456 give 7911123456); another
    country's with its code. None for a value that is not a phone number (fewer than 7 digits,
    or letters)."""
    if re.search(r"[^\d\s().+\-/]", value):
        return None
    international = value.strip().startswith(("+", "00"))
    digits = re.sub(r"\D", "", value)
    if digits.startswith("00"):
        digits = digits[2:]
    if international or (digits.startswith("44") and len(digits) >= 12):
        if digits.startswith("44"):
            digits = digits[2:]
            international = False  # a UK number: compared by its national digits
    if not international:
        digits = digits[1:] if digits.startswith("0") else digits
    return digits if len(digits) >= 7 else None


def _phone_spans(text: str, value: str) -> list[tuple[int, int]]:
    digits = phone_digits(value)
    if digits is None:
        return []
    prefix = r"(?:\(\s*)?(?:(?:\+|%2B|00)\s*)?(?:44\s*(?:\(0\)\s*)?|0)?" + _SEPARATORS
    pattern = r"(?<!\d)" + prefix + _SEPARATORS.join(digits) + r"(?!\d)"
    return [match.span() for match in re.finditer(pattern, text, re.IGNORECASE)]


def _coordinate_spans(text: str, value: str) -> list[tuple[int, int]]:
    """Decimal numbers in `text` that are this coordinate, rounded or cut to at least two
    decimals, or written with more."""
    try:
        sent = Decimal(value)
    except InvalidOperation:
        return []
    spans = []
    for match in _DECIMAL.finditer(text):
        if same_coordinate(match.group(), sent):
            spans.append(match.span())
    return spans


def same_coordinate(found: str, sent: Decimal) -> bool:
    """Whether `found` (from a council's text) is the coordinate `sent`, in any decimal form
    with at least two decimals: rounded or cut to fewer decimals, or padded with more."""
    try:
        number = abs(Decimal(found))
    except InvalidOperation:
        return False
    sent = abs(sent)
    places = _decimal_places(number)
    if places < 2:
        return False
    quantum = Decimal(1).scaleb(-places)
    if sent.quantize(quantum, ROUND_HALF_UP) == number or sent.quantize(quantum, ROUND_DOWN) == number:
        return True
    sent_places = max(2, _decimal_places(sent))
    return number.quantize(Decimal(1).scaleb(-sent_places), ROUND_HALF_UP) == sent


def _decimal_places(number: Decimal) -> int:
    """How many decimals `number` is written with; 0 for the infinities and NaN (exponents "F", "n")."""
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) else 0
