"""A library's opening hours, as the operator writes them: `Mon-Fri 09:00-17:30; Sat 10:00-16:00`.

Parsed once at `assist fleet add-kiosk` (a mistake is refused there, naming the part that is
wrong) into a week of intervals kept as JSON, and read in the fleet's time zone
(`fleet.timezone`), so that a kiosk silent at 3 in the morning is not flagged, and one silent at
11 on a Tuesday is.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PART = re.compile(r"^(?P<first>[a-z]+)(?:\s*-\s*(?P<last>[a-z]+))?\s+(?P<spans>\d.*)$")
_SPAN = re.compile(r"^(?P<open>\d{1,2}[:.]\d{2})\s*-\s*(?P<close>\d{1,2}[:.]\d{2})$")
#: Dashes as a web page or a word processor writes them (en, em, minus), read as "-".
_DASHES = str.maketrans({"\u2013": "-", "\u2014": "-", "\u2212": "-"})

#: A week: day -> its intervals as ("HH:MM", "HH:MM"), opening before closing.
Week = dict[str, list[list[str]]]


class HoursError(ValueError):
    """Opening hours that cannot be read, with the part at fault and what was expected."""


def _clock(text: str, part: str) -> str:
    hours, minutes = (int(value) for value in re.split("[:.]", text))
    if hours > 24 or minutes > 59 or (hours == 24 and minutes):
        raise HoursError(f"{part!r}: {text} is not a time of day (00:00 to 24:00)")
    return f"{hours:02d}:{minutes:02d}"


def _day(word: str, part: str) -> int:
    """A day's place in the week from its name as people write it: Mon, Tues, Wednesday."""
    for number, name in enumerate(_NAMES):
        if len(word) >= 3 and name.startswith(word):
            return number
    raise HoursError(f"{part!r}: {word!r} is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _days(first: str, last: str | None, part: str) -> list[str]:
    start, end = _day(first, part), _day(last or first, part)
    if end < start:
        raise HoursError(f"{part!r}: the days run backwards (write Mon-Fri, not Fri-Mon)")
    return list(DAYS[start:end + 1])


def parse(text: str) -> Week:
    """The week `text` describes: parts split by ";", each days (`Mon` or `Mon-Fri`; `Monday`, `Tues`
    too) and one or more spans (`09:00-12:30, 13:30-17:00`; `9.30` too), any dash a dash. Days not
    named are closed; a day named twice, or spans that overlap, are refused."""
    week: Week = {}
    parts = [part.strip() for part in text.translate(_DASHES).split(";") if part.strip()]
    if not parts:
        raise HoursError("no opening hours given; write them like \"Mon-Fri 09:00-17:30; Sat 10:00-16:00\"")
    for part in parts:
        found = _PART.match(part.lower())
        if found is None:
            raise HoursError(f"{part!r}: expected days and times, like \"Mon-Fri 09:00-17:30\"")
        spans: list[list[str]] = []
        for span in found["spans"].split(","):
            times = _SPAN.match(span.strip())
            if times is None:
                raise HoursError(f"{part!r}: {span.strip()!r} is not a span of time, like 09:00-17:30")
            opens, closes = _clock(times["open"], part), _clock(times["close"], part)
            if closes <= opens:
                raise HoursError(f"{part!r}: {opens}-{closes} closes before it opens")
            if earlier := next((f"{a}-{b}" for a, b in spans if opens < b and a < closes), None):
                raise HoursError(f"{part!r}: {opens}-{closes} overlaps {earlier}")
            spans.append([opens, closes])
        for day in _days(found["first"], found["last"], part):
            if day in week:
                raise HoursError(f"{part!r}: {day.title()} is given twice")
            week[day] = sorted(spans)
    return week


def zone(name: str) -> ZoneInfo:
    """The time zone `fleet.timezone` names, or HoursError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"fleet.timezone: {name!r} is not a time zone (such as Europe/London)") from None


def opened_at(week: Week, timezone: str, moment: datetime) -> datetime | None:
    """When the library opened, if it is open at `moment` (an aware datetime): the start of the
    span it is in, followed back through midnight while the day before stayed open to 24:00. None
    while it is closed. A kiosk is judged silent from then, not from the night before."""
    place = zone(timezone)
    local = moment.astimezone(place)
    now = time(local.hour, local.minute).strftime("%H:%M")
    day = local.date()
    opens = next((opens for opens, closes in week.get(DAYS[day.weekday()], []) if opens <= now < closes), None)
    if opens is None:
        return None
    for _ in DAYS:  # open all week round: a week back is far enough
        before = day - timedelta(days=1)
        if opens != "00:00" or not any(closes == "24:00" for _, closes in week.get(DAYS[before.weekday()], [])):
            break
        day, opens = before, max(start for start, closes in week[DAYS[before.weekday()]] if closes == "24:00")
    hours, minutes = (int(part) for part in opens.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=place).astimezone(UTC)

