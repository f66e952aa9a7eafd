"""The take-up report's figures: how residents used the kiosks and the text service in a period.

`assist report` reads one or more stores: this machine's, and files copied from each kiosk and
from the SMS server. Copied stores are somebody else's records, so they are opened read-only
(SQLite URI `mode=ro`) and never migrated; a store from before session events existed still gives
its submissions' acceptance times, and the report says it had no sessions to give.

A year of a busy council is around a million event rows, so the work is SQL aggregation: one pass
over each store folds its events into one row per session (sync/events.py explains the events),
kept in a small in-memory database where the figures are grouped. Rows the report cannot
understand (an unknown kind of event, a time it cannot read, a missing value, a session with no
start) are skipped, counted by reason, and listed in the report: a figure quietly built on bad
rows would be worse than one that says what it left out.

Only the columns named here are ever read, and an SQLite authorizer refuses any query that would
read a submission's personal columns: the report is safe to hand to anyone.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from babel import Locale, UnknownLocaleError

from sync.store import events, iso

log = logging.getLogger(__name__)

#: OWASP's CSV injection rule: a text cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(cell: object) -> object:
    """A CSV cell a spreadsheet will show, not run: text starting like a formula gets a leading
    single quote (OWASP, "CSV Injection"); numbers, even negative ones, are left as they are.
    Group names in the report come from councils' catalogues, so they are not ours to trust."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell

#: Columns the report must never read, even by mistake: what residents told us.
PERSONAL_COLUMNS = {"submissions": {"payload", "contact", "notify_phone", "assisted_by"}}
#: The values an event cannot do without; a row missing one is skipped.
REQUIRED = {events.STARTED: ("channel", "language"), events.SERVICE: ("service_code",), events.QUESTION: ("step",),
            events.ABANDONED: ("step",), events.LANGUAGE: ("language",)}
#: Why a row was skipped, as the report and the CSV name it.
SKIP_REASONS = {
    "unknown_event": "an event of a kind this version does not know",
    "unreadable_time": "a time that cannot be read",
    "missing_value": "a value the event needs is missing (a question without its key, a start without its language...)",
    "no_start": "the session has events but no start",
}
AT_LENGTH = len(iso(datetime(2000, 1, 1, tzinfo=timezone.utc)))  # "2026-11-24T10:00:00.000000Z": 27
#: The daily table is printed in full up to this many days; a longer period shows months instead.
DAILY_TABLE_DAYS = 62
CHANNEL_LABELS = {"kiosk": "Library kiosk", "sms": "Text message (SMS)", "paper": "Paper form"}
OUTCOME_LABELS = {"submitted": "Submitted", "abandoned:restart": "Started again", "abandoned:timeout": "Walked away",
                  "abandoned:expired": "Conversation expired", "abandoned:error": "The kiosk had a problem",
                  "no_outcome": "No outcome recorded"}


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
    kind: str = "count"  # count, rate (0..1) or seconds


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
    """What one store gave, and what of it could not be used."""

    label: str
    version: int
    has_events: bool
    sessions: int = 0
    submissions: int = 0
    duplicates: int = 0  # sessions already read from another store (a copy given twice)
    skipped: Counter = field(default_factory=Counter)


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
    def skipped(self) -> Counter:
        total: Counter = Counter()
        for store in self.stores:
            total.update(store.skipped)
        return total


# -------------------------------------------------------------------------------------------------
# Reading the stores

def _kind_sql() -> str:
    """Each event row's kind, or `!reason` for a row that must be skipped: computed once a row."""
    bad_time = f"length(at) <> {AT_LENGTH} OR substr(at, {AT_LENGTH}) <> 'Z' OR julianday(at) IS NULL"
    whens = []
    for event in events.EVENTS:
        missing = " OR ".join(f"coalesce({column}, '') = ''" for column in REQUIRED.get(event, ()))
        check = f"WHEN {missing} THEN '!missing_value' " if missing else ""
        whens.append(f"WHEN '{event}' THEN CASE WHEN {bad_time} THEN '!unreadable_time' {check}ELSE '{event}' END")
    return f"CASE event {' '.join(whens)} ELSE '!unknown_event' END"


#: One row per session of one store: when it started and on which channel, whether and when it was
#: submitted, the last step reached, how it was left, help, its last language (chosen at the start,
#: perhaps changed on the way), and the rows it had to skip. One pass groups the rows by session,
#: keeping the ids of the rows that matter (the last recorded of each kind); those few rows are then
#: looked up. The inner LIMIT keeps SQLite from flattening the subquery, so each row's kind is worked
#: out once, not once per aggregate. Kept: the sessions started in the period, and the sessions with
#: no start that had events in the period (their rows are counted as skipped).
SESSIONS_SQL = f"""
CREATE TEMP TABLE store_sessions AS
WITH grouped AS (
  SELECT session,
    min(CASE WHEN kind = 'started' THEN at END) AS started_at,
    min(CASE WHEN kind = 'started' THEN id END) AS start_id,
    min(CASE WHEN kind = 'submitted' THEN at END) AS submitted_at,
    max(CASE WHEN kind IN ('service', 'question', 'check') THEN id END) AS step_id,
    max(CASE WHEN kind = 'abandoned' THEN id END) AS abandoned_id,
    max(CASE WHEN kind IN ('started', 'language') THEN id END) AS language_id,
    max(kind = 'status') AS status_checked,
    max(kind = 'assisted' OR (assisted = 1 AND kind NOT LIKE '!%')) AS assisted,
    group_concat(CASE WHEN kind LIKE '!%' THEN substr(kind, 2) END) AS problems,
    count(*) AS rows
  FROM (SELECT id, session, at, assisted, {_kind_sql()} AS kind FROM store.session_events LIMIT -1)
  GROUP BY session
  HAVING started_at >= :start AND started_at < :end
      OR started_at IS NULL AND max(at >= :start AND at < :end))
SELECT grouped.session, started_at, start.channel, submitted_at,
  CASE step.event WHEN 'question' THEN 'question:' || step.step ELSE step.event END AS last_step,
  abandoned.step AS abandoned, grouped.assisted, language.language, problems, rows, status_checked
FROM grouped
LEFT JOIN store.session_events AS start ON start.id = start_id
LEFT JOIN store.session_events AS step ON step.id = step_id
LEFT JOIN store.session_events AS abandoned ON abandoned.id = abandoned_id
LEFT JOIN store.session_events AS language ON language.id = language_id
"""

WORK_SCHEMA = """
CREATE TABLE sessions (session TEXT PRIMARY KEY, started_at TEXT, channel TEXT, submitted_at TEXT, last_step TEXT,
                       abandoned TEXT, assisted INTEGER, language TEXT, problems TEXT, rows INTEGER,
                       status_checked INTEGER);
CREATE TABLE submissions (reference TEXT PRIMARY KEY, channel TEXT, created_at TEXT, accepted_at TEXT);
"""

#: Once every store is read: the sessions that started in the period, each with its day, outcome and
#: stage, and the two kinds of duration the report times (in seconds).
FIGURES_SQL = """
CREATE TABLE started AS
SELECT channel, assisted, language, submitted_at, substr(started_at, 1, 10) AS day,
  CASE WHEN submitted_at IS NOT NULL THEN 'submitted' WHEN abandoned IS NOT NULL THEN 'abandoned:' || abandoned
       ELSE 'no_outcome' END AS outcome,
  coalesce(last_step, 'start') AS stage
FROM sessions WHERE started_at IS NOT NULL AND NOT (status_checked AND last_step IS NULL AND submitted_at IS NULL);
CREATE TABLE status_checks AS
SELECT channel FROM sessions WHERE started_at IS NOT NULL AND status_checked AND last_step IS NULL
  AND submitted_at IS NULL;
CREATE TABLE durations AS
SELECT 'complete' AS measure, channel, (julianday(submitted_at) - julianday(started_at)) * 86400 AS seconds
FROM sessions WHERE started_at IS NOT NULL AND submitted_at IS NOT NULL
UNION ALL
SELECT 'acceptance', channel, (julianday(accepted_at) - julianday(created_at)) * 86400
FROM submissions WHERE julianday(accepted_at) IS NOT NULL AND julianday(created_at) IS NOT NULL;
"""

#: Each duration by channel and again under "all", sorted so that a group's ranks are consecutive
#: rowids (a negative duration, from a clock put back, is left out and counted instead).
RANKED_SQL = """
CREATE TABLE ranked AS
SELECT * FROM (SELECT measure, channel AS grp, seconds FROM durations WHERE seconds >= 0
               UNION ALL
               SELECT measure, 'all', seconds FROM durations WHERE seconds >= 0)
ORDER BY measure, grp, seconds
"""


def _authorize(action: int, arg1: str | None, arg2: str | None, database: str | None, trigger: str | None) -> int:
    """Refuse, loudly, any statement that would read what a resident told us."""
    if action == sqlite3.SQLITE_READ and database == "store" and arg2 in PERSONAL_COLUMNS.get(arg1 or "", ()):
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def _attach(conn: sqlite3.Connection, path: Path, label: str) -> StoreRead:
    """Attach a store read-only as `store` and say what it holds; refuse anything else."""
    if not path.is_file():
        raise ReportError(f"{label}: there is no such file.")
    try:
        conn.execute("ATTACH DATABASE ? AS store", (f"{path.resolve().as_uri()}?mode=ro",))
        tables = {name for (name,) in conn.execute("SELECT name FROM store.sqlite_master WHERE type = 'table'")}
        version = conn.execute("SELECT max(version) FROM store.schema_migrations").fetchone()[0] \
            if "schema_migrations" in tables else None
    except sqlite3.DatabaseError as error:
        _detach(conn)
        raise ReportError(f"{label} is not an assist store: SQLite cannot read it ({error}).") from None
    if version is None or "submissions" not in tables:
        _detach(conn)
        raise ReportError(f"{label} is an SQLite file but not an assist store (it has no outbox).")
    return StoreRead(label, version, "session_events" in tables)


def _detach(conn: sqlite3.Connection) -> None:
    if any(name == "store" for _, name, _ in conn.execute("PRAGMA database_list")):
        conn.execute("DETACH DATABASE store")


def _read_store(conn: sqlite3.Connection, path: Path, label: str, period: Period) -> StoreRead:
    """Fold one store's sessions and submissions of the period into the work database."""
    read = _attach(conn, path, label)
    bounds = {"start": period.start, "end": period.end}
    try:
        if read.has_events:
            conn.execute(SESSIONS_SQL, bounds)
            read.duplicates = conn.execute("SELECT count(*) FROM store_sessions WHERE started_at IS NOT NULL "
                                           "AND session IN (SELECT session FROM main.sessions)").fetchone()[0]
            read.sessions = conn.execute("SELECT count(*) FROM store_sessions "
                                         "WHERE started_at IS NOT NULL").fetchone()[0] - read.duplicates
            for problems, rows, started in conn.execute("SELECT problems, rows, started_at IS NOT NULL FROM store_sessions "
                                                        "WHERE problems IS NOT NULL OR started_at IS NULL"):
                reasons = problems.split(",") if problems else []
                read.skipped.update(reasons)
                if not started:
                    read.skipped["no_start"] += rows - len(reasons)
            conn.execute("INSERT OR IGNORE INTO main.sessions SELECT * FROM store_sessions WHERE started_at IS NOT NULL")
        read.submissions = conn.execute(
            # A request carried by hand is in two stores under one reference; it was accepted in
            # whichever sent it, whatever order the stores are read in.
            "INSERT INTO main.submissions (reference, channel, created_at, accepted_at) "
            "SELECT reference, channel, created_at, accepted_at FROM store.submissions "
            "WHERE created_at >= :start AND created_at < :end "
            "ON CONFLICT (reference) DO UPDATE SET accepted_at = coalesce(main.submissions.accepted_at, "
            "excluded.accepted_at)", bounds).rowcount
    except sqlite3.DatabaseError as error:
        raise ReportError(f"{label} could not be read to the end: {error}. Copy it again from its machine.") from None
    finally:
        conn.execute("DROP TABLE IF EXISTS store_sessions")
        _detach(conn)
    if not read.has_events:
        log.warning("%s has no session events: it was written by an older version of assist (schema %d)",
                    label, read.version)
    if read.skipped:
        log.warning("%s: %d session event rows skipped (%s)", label, sum(read.skipped.values()),
                    ", ".join(f"{count} {reason}" for reason, count in sorted(read.skipped.items())))
    return read


def build(stores: list[tuple[str, Path]], period: Period) -> Report:
    """Read every store (label, path) and work out the report's figures for `period`."""
    conn = sqlite3.connect("file::memory:", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA temp_store = MEMORY")  # the sorting of a year's events stays off the disk
        conn.executescript(WORK_SCHEMA)
        conn.set_authorizer(_authorize)
        read = [_read_store(conn, path, label, period) for label, path in stores]
        conn.set_authorizer(None)
        return _figures(conn, period, read)
    finally:
        conn.close()


# -------------------------------------------------------------------------------------------------
# The figures

def long_date(day: date) -> str:
    """A date as British readers write it: "24 November 2026"."""
    return f"{day.day} {day:%B %Y}"


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def language_label(code: str) -> str:
    """A language as English readers name it, with its code: "Welsh (cy)"."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name("en")
    except (UnknownLocaleError, ValueError, TypeError):
        name = None
    return f"{name} ({code})" if name else code


def step_label(stage: str) -> str:
    """Where a session stopped, from `stage` ("start", "service", "check" or "question:<key>")."""
    labels = {"start": "Before choosing a service", "service": "After choosing a service",
              "check": "Checking the answers"}
    return labels.get(stage) or f"Question: {stage.removeprefix('question:')}"


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def _spreads(conn: sqlite3.Connection) -> dict[str, dict[str, tuple[int, float, float]]]:
    """How many, the median and the 90th percentile of each duration ("complete", "acceptance") by
    group. The 90th percentile is interpolated between the nearest ranks, as Python's
    statistics.quantiles(method="inclusive") does; only the few ranks needed are read."""
    conn.execute(RANKED_SQL)

    def rank(first: int, index: int) -> float:
        return conn.execute("SELECT seconds FROM ranked WHERE rowid = ?", (first + index,)).fetchone()[0]

    spreads: dict[str, dict[str, tuple[int, float, float]]] = {"complete": {}, "acceptance": {}}
    groups = conn.execute("SELECT measure, grp, min(rowid), count(*) FROM ranked GROUP BY measure, grp").fetchall()
    for measure, group, first, count in groups:
        whole, tenths = divmod(9 * (count - 1), 10)
        p90 = (rank(first, whole) * (10 - tenths) + (rank(first, whole + 1) * tenths if tenths else 0)) / 10
        median = (rank(first, (count - 1) // 2) + rank(first, count // 2)) / 2
        spreads[measure][group] = (count, median, p90)
    return spreads


def _timing(key: str, title: str, intro: str, counted: Column, spreads: dict[str, tuple],
            totals: dict[str, int] | None = None) -> Section:
    """Median and 90th percentile, for all channels and then each one."""
    columns = ((Column("submissions", "Submissions"),) if totals is not None else ()) + (
        counted, Column("median_seconds", "Median", "seconds"), Column("p90_seconds", "90th percentile", "seconds"))
    rows = []
    for group in ["all"] + sorted((set(spreads) | set(totals or ())) - {"all"}):
        label = "All channels" if group == "all" else channel_label(group)
        total = (totals.get(group, 0),) if totals is not None else ()
        rows.append(Row(group, label, total + spreads.get(group, (0, None, None))))
    chart = Chart("bars", ("median_seconds", "p90_seconds"), "time") if spreads else None
    return Section(key, title, intro, "Channel", columns, tuple(rows), chart)


def _figures(conn: sqlite3.Connection, period: Period, stores: list[StoreRead]) -> Report:
    conn.executescript(FIGURES_SQL)
    sessions, submitted, assisted = conn.execute(
        "SELECT count(*), count(submitted_at), coalesce(sum(assisted), 0) FROM started").fetchone()
    spreads = _spreads(conn)
    nothing = (0, None, None)
    made = dict(conn.execute("SELECT channel, count(*) FROM submissions GROUP BY channel").fetchall())
    made["all"] = sum(made.values())
    headline = Section("summary", "Key figures", "", "", (
        Column("sessions", "Sessions"), Column("submitted", "Submitted"),
        Column("completion_rate", "Completion rate", "rate"), Column("assisted_share", "Helped by a volunteer", "rate"),
        Column("median_seconds_to_complete", "Median time to complete", "seconds"),
        Column("median_seconds_to_acceptance", "Median time to acceptance", "seconds"),
        Column("status_checks", "Visits only to check on a request (not counted as sessions)")),
        (Row("all", "All channels", (sessions, submitted, _rate(submitted, sessions), _rate(assisted, sessions),
                                     spreads["complete"].get("all", nothing)[1],
                                     spreads["acceptance"].get("all", nothing)[1],
                                     conn.execute("SELECT count(*) FROM status_checks").fetchone()[0])),))

    sections: list[Section] = []
    if sessions:
        sections += _session_sections(conn, period, sessions, submitted)
        sections.append(_timing(
            "time_to_complete", "Time to complete",
            "From the first screen or message to the saved submission, for the sessions that submitted.",
            Column("sessions", "Sessions"), spreads["complete"]))
    sections.append(_timing(
        "time_to_acceptance", "Time to acceptance by the council",
        "From a submission being saved to the council's back office accepting it, for the submissions made in "
        "the period that it has accepted so far.", Column("accepted", "Accepted"), spreads["acceptance"], made))
    sections.append(Section(
        "stores", "Stores read", "Each store is one kiosk's or the SMS service's records.", "Store",
        (Column("sessions", "Sessions"), Column("submissions", "Submissions"), Column("skipped_rows", "Rows skipped"),
         Column("schema_version", "Schema version")),
        tuple(Row(store.label, store.label, (store.sessions if store.has_events else None, store.submissions,
                                             sum(store.skipped.values()), store.version)) for store in stores)))
    skipped = [(store.label, reason, rows) for store in stores for reason, rows in sorted(store.skipped.items())]
    if skipped:
        sections.append(Section(
            "skipped_rows", "Rows skipped",
            "Event rows the report could not use, by store and reason; no figure above counts them.", "Store and reason",
            (Column("rows", "Rows"),),
            tuple(Row(f"{label}:{reason}", f"{label}: {SKIP_REASONS[reason]}", (rows,)) for label, reason, rows in skipped)))
    return Report(period, stores, headline, sections, _notes(conn, stores))


def _notes(conn: sqlite3.Connection, stores: list[StoreRead]) -> list[str]:
    """What a reader must know to read the figures right."""
    notes = [f"{store.label} was written by an older version of assist (schema {store.version}) that did not record "
             "sessions: it adds its submissions and their acceptance times, but no sessions."
             for store in stores if not store.has_events]
    backwards = dict(conn.execute("SELECT measure, count(*) FROM durations WHERE seconds < 0 GROUP BY measure"))
    if backwards.get("complete"):
        notes.append(f"{backwards['complete']} sessions were timed as submitted before they started (a clock was "
                     "changed): they are left out of the time to complete.")
    if backwards.get("acceptance"):
        notes.append(f"{backwards['acceptance']} submissions were timed as accepted before they were made (a clock "
                     "was changed): they are left out of the time to acceptance.")
    duplicates = sum(store.duplicates for store in stores)
    if duplicates:
        notes.append(f"{duplicates} sessions were found in more than one store (the same store read twice?) and "
                     "are counted once.")
    return notes


def _session_sections(conn: sqlite3.Connection, period: Period, sessions: int, submitted: int) -> list[Section]:
    """The figures that need sessions: by day, outcome, last step, help, channel and language."""
    by_day = {day: (count, done) for day, count, done in
              conn.execute("SELECT day, count(*), count(submitted_at) FROM started GROUP BY day")}
    days = tuple(Row(day.isoformat(), long_date(day), by_day.get(day.isoformat(), (0, 0))) for day in period.days)
    months: dict[str, list[int]] = {}
    for row in days:
        month = months.setdefault(row.key[:7], [0, 0, 0])
        month[0] += row.values[0]
        month[1] += row.values[1]
        month[2] += 1
    long_period = len(days) > DAILY_TABLE_DAYS
    counts = (Column("sessions", "Sessions"), Column("submitted", "Submitted"))
    sections = [
        Section("sessions_per_day", "Sessions per day",
                "Sessions started each day (UTC), and how many of them ended in a submission."
                + (" The table gives each month; the CSV gives each day." if long_period else ""),
                "Day", counts, days, Chart("days", ("sessions", "submitted"), "sessions"), table_in_html=not long_period),
        Section("sessions_per_month", "Sessions per month", "", "Month", counts + (Column("days", "Days in the period"),),
                tuple(Row(month, date.fromisoformat(f"{month}-01").strftime("%B %Y"), tuple(values))
                      for month, values in months.items()), in_html=long_period),
    ]

    share = (Column("sessions", "Sessions"), Column("share", "Share", "rate"))
    outcomes = conn.execute("SELECT outcome, count(*) FROM started GROUP BY outcome ORDER BY count(*) DESC, outcome")
    sections.append(Section(
        "outcomes", "How sessions ended",
        "Started again: a new session was begun at the kiosk. Walked away: the kiosk's inactivity timeout cleared "
        "it. Conversation expired: a text conversation was left unfinished. The kiosk had a problem: an "
        "unexpected error sent it back to its start (its log says why). No outcome recorded: still in "
        "progress, or the machine stopped.", "Outcome", share,
        tuple(Row(outcome, OUTCOME_LABELS.get(outcome, outcome.replace("abandoned:", "Left: ")),
                  (count, _rate(count, sessions))) for outcome, count in outcomes),
        Chart("bars", ("sessions",), "sessions")))

    gave_up = conn.execute("SELECT stage, count(*) FROM started WHERE submitted_at IS NULL GROUP BY stage "
                           "ORDER BY count(*) DESC, stage").fetchall()
    if gave_up:
        sections.append(Section(
            "gave_up", "Where people gave up",
            "The last step reached in each session that did not submit: a question (by its key) or a stage.",
            "Last step reached", (share[0], Column("share", "Share of those who did not submit", "rate")),
            tuple(Row(stage, step_label(stage), (count, _rate(count, sessions - submitted))) for stage, count in gave_up),
            Chart("bars", ("sessions",), "sessions")))

    rates = share + (Column("submitted", "Submitted"), Column("completion_rate", "Completion rate", "rate"))
    helped = conn.execute("SELECT assisted, count(*), count(submitted_at) FROM started GROUP BY assisted "
                          "ORDER BY assisted DESC").fetchall()
    sections.append(Section(
        "assisted", "Help from volunteers",
        "Sessions in which a volunteer helped, with the resident's agreement, and sessions residents went through "
        "on their own.", "Help", rates,
        tuple(Row("assisted" if flag else "unassisted", "Helped by a volunteer" if flag else "On their own",
                  (count, _rate(count, sessions), done, _rate(done, count))) for flag, count, done in helped),
        Chart("bars", ("sessions", "submitted"), "sessions")))

    channels = conn.execute("SELECT channel, count(*), count(submitted_at), sum(assisted) FROM started "
                            "GROUP BY channel ORDER BY count(*) DESC, channel").fetchall()
    sections.append(Section(
        "channels", "Kiosk and text message", "Sessions by channel.", "Channel",
        rates + (Column("assisted", "Helped by a volunteer"),),
        tuple(Row(channel, channel_label(channel), (count, _rate(count, sessions), done, _rate(done, count), help_))
              for channel, count, done, help_ in channels),
        Chart("bars", ("sessions", "submitted"), "sessions")))

    languages = conn.execute("SELECT language, count(*), count(submitted_at) FROM started GROUP BY language "
                             "ORDER BY count(*) DESC, language").fetchall()
    sections.append(Section(
        "languages", "Languages", "The language each session ended in (residents can change language on the way).",
        "Language", rates,
        tuple(Row(code, language_label(code), (count, _rate(count, sessions), done, _rate(done, count)))
              for code, count, done in languages),
        Chart("bars", ("sessions", "submitted"), "sessions")))
    return sections
