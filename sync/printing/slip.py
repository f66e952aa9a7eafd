"""The words of a printed reference, in the resident's language: the council's name, the reference
large, what was reported (the service and the street, nothing personal), how to check on it, and
the date.

Nothing the resident typed is printed: not their name or number, not the words they described the
place with, not the house number (a missed bin is reported at the resident's own door). The street
comes from the council's own address list, and only when the resident chose an address from it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from locales import N_, translator
from sync.places.normalise import split_address
from sync.settings import Settings

#: How a line is printed: the council's name and each part's heading, the reference (large), the rest.
HEADING, REFERENCE, BODY = "heading", "reference", "body"

#: Printed after the reference. The first word of the resident's journey: a report or a request.
REPORTED = {"report": N_("You reported"), "request": N_("You asked for")}
CHECK_HEADING = N_("To check on it")
AT_THE_KIOSK = N_("Use your reference at the kiosk in {library}.")
# TRANSLATORS: {message} is what to text, like "STATUS K7Q-4MB-XP9Z": the English keyword STATUS
# (which always works) and the reference.
BY_TEXT = N_("Or text {message} to {number}.")
DATED = N_("Date: {date}")
#: The keyword the SMS service always understands, whatever the language (sms/keywords.py).
STATUS_KEYWORD = "STATUS"


@dataclass(frozen=True)
class Line:
    text: str
    style: str = BODY


@dataclass(frozen=True)
class Saved:
    """What the slip tells of one saved submission."""

    reference: str  # as displayed, K7Q-4MB-XP9Z
    journey: str  # report | request
    service_name: str  # message id
    street: str  # "" when the place was described in words
    language: str
    on: dt.date


@dataclass(frozen=True)
class Slip:
    language: str
    right_to_left: bool
    lines: tuple[Line, ...]


def street_of(location: Mapping[str, Any]) -> str:
    """The street of an address chosen from the gazetteer ("Market Square"), without the house number
    or flat; "" for a place the resident described in their own words (which may say anything)."""
    if not location.get("address_id") or not location.get("address_string"):
        return ""
    return split_address(str(location["address_string"]))[1]


def compose(settings: Settings, saved: Saved) -> Slip:
    """The slip's lines, top to bottom, in the resident's language."""
    t = translator(saved.language)
    rtl = t.right_to_left
    lines = [Line(settings.council.name, HEADING), Line(t("Your reference is")), Line(saved.reference, REFERENCE),
             Line(t(REPORTED.get(saved.journey, REPORTED["report"])), HEADING), Line(t(saved.service_name))]
    if saved.street:
        lines.append(Line(saved.street))
    lines += [Line(t(CHECK_HEADING), HEADING),
              Line(t(AT_THE_KIOSK).format(library=settings.kiosk.library_name))]
    number = texting_number(settings)
    if number:
        message = f"{STATUS_KEYWORD}\u00a0{saved.reference}"  # one run, never broken across lines
        lines.append(Line(t(BY_TEXT).format(message=isolate(message, rtl), number=isolate(number, rtl))))
    lines.append(Line(t(DATED).format(date=t.date(saved.on))))
    return Slip(saved.language, rtl, tuple(lines))


def texting_number(settings: Settings) -> str:
    """The council's number residents text STATUS to, as people write it (07700 900123); "" when
    the SMS service has no number of its own to give (a Messaging Service picks one from a pool)."""
    number = settings.twilio.from_number
    if not number:
        return ""
    import phonenumbers  # here: a kiosk that never prints need not load its metadata

    try:
        parsed = phonenumbers.parse(number, "GB")
    except phonenumbers.NumberParseException:
        return number
    if parsed.country_code != 44:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def isolate(value: str, right_to_left: bool) -> str:
    """A left-to-right value kept whole inside a right-to-left line (a number's groups of digits
    would otherwise be laid right to left: "07700 900123" read "900123 07700")."""
    return f"\u2066{value}\u2069" if right_to_left else value
