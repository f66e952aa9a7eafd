"""The take-up report as data: its period, its tables (sections of rows and columns) and what each
store gave. The figures fill it in (figures.py); the page and the CSV read it (page.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from babel.support import NullTranslations

from sync.store import iso

#: The report is for council staff, in English: plurals by Babel's ngettext, as the channels' are,
#: but not from the residents' catalogue (these words are not extracted for translators).
_ENGLISH = NullTranslations()

#: Why a row was skipped, as the report and the CSV name it.
SKIP_REASONS = {
    "unknown_event": "an event of a kind this version does not know",
    "unreadable_time": "a time that cannot be read",
    "missing_value": "a value the event needs is missing (a question without its key, a start without its language...)",
    "no_start": "the session has events but no start",
    "unreadable_record": "a record a kiosk sent the fleet service that cannot be read (not JSON, or no session)",
}


class ReportError(Exception):
    """A report that cannot be made, said so that the person running it can put it right."""


@dataclass(frozen=True)
class Period:
    """Calendar days, `until` included, in UTC: the stores' own clock."""

    since: date
    until: date

    def __post_init__(self) -> None:
        if self.since > self.until:
            raise ReportError(f"--since ({self.since}) is after --until ({self.until}): the period is empty.")

    @property
    def start(self) -> str:
        return iso(datetime.combine(self.since, time(), tzinfo=timezone.utc))

    @property
    def end(self) -> str:
        """The first moment after the period, as stored times compare."""
        return iso(datetime.combine(self.until + timedelta(days=1), time(), tzinfo=timezone.utc))

    @property
    def described(self) -> str:
        """"24 November 2026", or "1 November 2026 to 30 November 2026"."""
        if self.since == self.until:
            return long_date(self.since)
        return f"{long_date(self.since)} to {long_date(self.until)}"

    @property
    def days(self) -> list[date]:
        return [self.since + timedelta(days=offset) for offset in range((self.until - self.since).days + 1)]


@dataclass(frozen=True)
class Column:
    key: str  # the CSV's `measure`
    label: str  # the HTML table's header
    kind: str = "count"  # count, rate (0..1), seconds, or time (a moment, as seconds since 1970 in UTC)


@dataclass(frozen=True)
class Row:
    key: str  # the CSV's `group`: a day, a channel, a language code, "question:location"...
    label: str  # what a person reads
    values: tuple[float | int | None, ...]


@dataclass(frozen=True)
class Chart:
    kind: str  # "days" (a bar a day) or "bars" (a horizontal bar per row)
    series: tuple[str, ...]  # column keys plotted
    axis: str  # what the value axis counts


@dataclass(frozen=True)
class Section:
    """One figure of the report: a table, perhaps a chart of it, and where it shows."""

    key: str  # the CSV's `section`
    title: str
    intro: str
    group: str  # what the rows are: "Day", "Channel"...
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    chart: Chart | None = None
    table_in_html: bool = True  # False: only its chart (and the CSV) show it
    in_html: bool = True  # False: only in the CSV

    def index(self, key: str) -> int:
        return [column.key for column in self.columns].index(key)

    def label(self, key: str) -> str:
        return self.columns[self.index(key)].label

    def values(self, key: str) -> list[float | int | None]:
        index = self.index(key)
        return [row.values[index] for row in self.rows]


@dataclass
class StoreRead:
    """What one store gave, and what of it could not be used. A kiosk read through the fleet service
    (its events as the council's store received them: kiosks.py) is one too, `through_fleet`."""

    label: str
    version: int | None  # None: a kiosk through the fleet service (its store's schema is not sent)
    has_events: bool
    sessions: int = 0
    submissions: int = 0
    duplicates: int = 0  # sessions already read from another store (a copy given twice)
    skipped: Counter[str] = field(default_factory=Counter)
    store_id: str | None = None  # the store's random id (fleet_link), as its kiosk sends it to the fleet service
    kiosk_events: bool = False  # the store holds events from kiosks (the council's, with the fleet service)
    through_fleet: bool = False
    heard: str | None = None  # through the fleet service: when the kiosk was last heard
    unknown: int = 0  # through the fleet service: events of kinds this version does not know
    counted_from: list[str] = field(default_factory=list)  # stores also read as files, counted from those


@dataclass
class Report:
    period: Period
    stores: list[StoreRead]
    headline: Section
    sections: list[Section]
    notes: list[str]

    @property
    def sessions(self) -> int:
        return int(self.headline.rows[0].values[0] or 0)

    @property
    def read_from(self) -> str:
        """"2 stores", or "1 store and 3 kiosks through the fleet service"."""
        kiosks = sum(store.through_fleet for store in self.stores)
        read = plural(len(self.stores) - kiosks, "{n} store", "{n} stores")
        return f"{read} and {plural(kiosks, '{n} kiosk', '{n} kiosks')} through the fleet service" if kiosks else read

    @property
    def skipped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for store in self.stores:
            total.update(store.skipped)
        return total


def duration(seconds: float) -> str:
    """A duration as people say it, the same in tables, on charts and in their words: "0.4 s" (a
    tenth of a second under 10 s, where whole seconds would say 0 for 0.4), "45 s", "6 min 5 s",
    "2 h 10 min", "3 days 4 h". Halves round up, as people round, not to the even number."""
    if seconds < 9.95:
        return f"{Decimal(str(seconds)).quantize(Decimal('0.1'), ROUND_HALF_UP)} s".replace(".0 s", " s")
    whole = int(Decimal(str(seconds)).quantize(Decimal(1), ROUND_HALF_UP))
    if whole < 60:
        return f"{whole} s"
    minutes, whole = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {whole} s" if whole else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} days {hours} h" if hours else f"{days} days"


def plural(n: int, one: str, many: str) -> str:
    """"1 session", "1,203 sessions": `one` or `many` by Babel's ngettext, with `{n}` the number."""
    return _ENGLISH.ngettext(one, many, n).format(n=f"{n:,}")


def long_date(day: date) -> str:
    """A date as British readers write it: "24 November 2026"."""
    return f"{day.day} {day:%B %Y}"


def seconds_since_1970(text: str | None) -> float | None:
    """A stored time ("2026-12-01T10:58:00.000000Z") as a `time` column holds it; None if unreadable."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None
    except ValueError:
        return None


def moment(value: float) -> datetime:
    """A `time` column's value as a moment in UTC."""
    return datetime.fromtimestamp(value, timezone.utc)
