"""The take-up report's figures, worked out in SQL from the sessions and submissions the stores gave:
sessions per day, how they ended, where people gave up, help, channels, languages and timings."""

from __future__ import annotations

import sqlite3
from datetime import date

from babel import Locale, UnknownLocaleError

from sync.reporting.model import (
    SKIP_REASONS,
    Chart,
    Column,
    Period,
    Report,
    Row,
    Section,
    StoreRead,
    long_date,
    plural,
    seconds_since_1970,
)

#: The daily table is printed in full up to this many days; a longer period shows months instead.
DAILY_TABLE_DAYS = 62
CHANNEL_LABELS = {"kiosk": "Library kiosk", "sms": "Text message (SMS)", "paper": "Paper form"}
OUTCOME_LABELS = {"submitted": "Submitted", "abandoned:restart": "Started again", "abandoned:timeout": "Walked away",
                  "abandoned:expired": "Conversation expired", "abandoned:error": "The kiosk had a problem",
                  "abandoned:stopped": "The kiosk was stopped", "no_outcome": "No outcome recorded"}


#: Once every store is read: the sessions that started in the period, each with its day, outcome and
#: stage, and the two kinds of duration the report times (in seconds).
FIGURES_SQL = """
CREATE TABLE started AS
SELECT channel, assisted, language, submitted_at, substr(started_at, 1, 10) AS day,
  CASE WHEN submitted_at IS NOT NULL THEN 'submitted' WHEN abandoned IS NOT NULL THEN 'abandoned:' || abandoned
       ELSE 'no_outcome' END AS outcome,
  coalesce(last_step, 'start') AS stage
FROM sessions WHERE started_at IS NOT NULL AND NOT (status_visits AND last_step IS NULL AND submitted_at IS NULL);
CREATE TABLE status_checks AS
SELECT channel, status_visits AS visits FROM sessions WHERE started_at IS NOT NULL AND status_visits;
CREATE VIEW status_visits AS SELECT coalesce(sum(visits), 0) FROM status_checks;
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


def _spreads(conn: sqlite3.Connection) -> dict[str, Spreads]:
    """How many, the median and the 90th percentile of each duration ("complete", "acceptance") by
    group. The 90th percentile is interpolated between the nearest ranks, as Python's
    statistics.quantiles(method="inclusive") does; only the few ranks needed are read."""
    conn.execute(RANKED_SQL)

    def rank(first: int, index: int) -> float:
        return float(conn.execute("SELECT seconds FROM ranked WHERE rowid = ?", (first + index,)).fetchone()[0])

    spreads: dict[str, Spreads] = {"complete": {}, "acceptance": {}}
    groups = conn.execute("SELECT measure, grp, min(rowid), count(*) FROM ranked GROUP BY measure, grp").fetchall()
    for measure, group, first, count in groups:
        whole, tenths = divmod(9 * (count - 1), 10)
        p90 = (rank(first, whole) * (10 - tenths) + (rank(first, whole + 1) * tenths if tenths else 0)) / 10
        median = (rank(first, (count - 1) // 2) + rank(first, count // 2)) / 2
        spreads[measure][group] = (count, median, p90)
    return spreads


#: (how many, median, 90th percentile) of one duration, in seconds, by group ("all" or a channel).
Spreads = dict[str, tuple[int, float, float]]


def _timing(key: str, title: str, intro: str, counted: Column, spreads: Spreads,
            totals: dict[str, int] | None = None) -> Section:
    """Median and 90th percentile, for all channels and then each one."""
    columns = ((Column("submissions", "Submissions saved"),) if totals is not None else ()) + (
        counted, Column("median_seconds", "Median", "seconds"), Column("p90_seconds", "90th percentile", "seconds"))
    rows = []
    for group in ["all"] + sorted((set(spreads) | set(totals or ())) - {"all"}):
        label = "All channels" if group == "all" else channel_label(group)
        total = (totals.get(group, 0),) if totals is not None else ()
        spread: tuple[int, float | None, float | None] = spreads.get(group, (0, None, None))
        rows.append(Row(group, label, total + spread))
    chart = Chart("bars", ("median_seconds", "p90_seconds"), "time") if spreads else None
    return Section(key, title, intro, "Channel", columns, tuple(rows), chart)


def figures(conn: sqlite3.Connection, period: Period, stores: list[StoreRead]) -> Report:
    conn.executescript(FIGURES_SQL)
    sessions, submitted, assisted = conn.execute(
        "SELECT count(*), count(submitted_at), coalesce(sum(assisted), 0) FROM started").fetchone()
    spreads = _spreads(conn)
    nothing = (0, None, None)
    made = dict(conn.execute("SELECT channel, count(*) FROM submissions GROUP BY channel").fetchall())
    made["all"] = sum(made.values())
    headline = Section("summary", "Key figures", "", "", (
        Column("sessions", "Sessions"), Column("submitted", "Sessions ending in a submission"),
        Column("completion_rate", "Completion rate", "rate"), Column("assisted_share", "Helped by a volunteer", "rate"),
        Column("median_seconds_to_complete", "Median time to complete", "seconds"),
        Column("median_seconds_to_acceptance", "Median time to acceptance", "seconds"),
        Column("status_checks", "Visits only to check on a request (not counted as sessions)")),
        (Row("all", "All channels", (sessions, submitted, _rate(submitted, sessions), _rate(assisted, sessions),
                                     spreads["complete"].get("all", nothing)[1],
                                     spreads["acceptance"].get("all", nothing)[1],
                                     conn.execute("SELECT * FROM status_visits").fetchone()[0])),))

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
        "the period that it has accepted so far. Submissions saved counts every request the stores saved in the "
        "period, whenever its session started (paper forms and requests carried by hand have none); sessions "
        "ending in a submission, in the key figures, counts the sessions started in the period that submitted. "
        "So the two can differ.", Column("accepted", "Accepted"), spreads["acceptance"], made))
    sections.append(_stores(stores))
    skipped = [(store.label, reason, rows) for store in stores for reason, rows in sorted(store.skipped.items())]
    if skipped:
        sections.append(Section(
            "skipped_rows", "Rows skipped",
            "Event rows the report could not use, by store and reason; no figure above counts them.",
            "Store and reason", (Column("rows", "Rows"),),
            tuple(Row(f"{label}:{reason}", f"{label}: {SKIP_REASONS[reason]}", (rows,))
                  for label, reason, rows in skipped)))
    return Report(period, stores, headline, sections, _notes(conn, stores))


def _stores(stores: list[StoreRead]) -> Section:
    """Each store read, and each kiosk read through the fleet service with when it was last heard."""
    columns: tuple[Column, ...] = (Column("sessions", "Sessions"), Column("submissions", "Submissions"),
               Column("skipped_rows", "Rows skipped"), Column("schema_version", "Schema version"))
    through_fleet = any(store.through_fleet for store in stores)
    if through_fleet:
        columns += (Column("unknown_kinds", "Events of kinds not known"), Column("last_heard", "Last heard", "time"))
    rows = []
    for store in stores:
        values: tuple[float | int | None, ...] = (store.sessions if store.has_events else None, store.submissions,
                                                  sum(store.skipped.values()), store.version)
        if through_fleet:
            values += (store.unknown, seconds_since_1970(store.heard)) if store.through_fleet else (None, None)
        rows.append(Row(store.label, store.label, values))
    intro = "Each store is one kiosk's or the SMS service's records."
    if through_fleet:
        intro += (" A kiosk read through the fleet service is what it has sent the council's store: its sessions, "
                  "and its submissions once accepted, cancelled or exported; last heard is its last heartbeat "
                  "(or, without one, the last events it sent).")
    return Section("stores", "Stores read", intro, "Store", columns, tuple(rows))


def _notes(conn: sqlite3.Connection, stores: list[StoreRead]) -> list[str]:
    """What a reader must know to read the figures right."""
    notes = [f"{store.label} was written by an older version of assist (schema {store.version}) that did not record "
             "sessions: it adds its submissions and their acceptance times, but no sessions."
             for store in stores if not store.has_events]
    backwards = dict(conn.execute("SELECT measure, count(*) FROM durations WHERE seconds < 0 GROUP BY measure"))
    if backwards.get("complete"):
        notes.append(plural(
            backwards["complete"],
            "{n} session was timed as submitted before it started (a clock was changed): it is left out of the "
            "time to complete.",
            "{n} sessions were timed as submitted before they started (a clock was changed): they are left out of "
            "the time to complete."))
    if backwards.get("acceptance"):
        notes.append(plural(
            backwards["acceptance"],
            "{n} submission was timed as accepted before it was made (a clock was changed): it is left out of the "
            "time to acceptance.",
            "{n} submissions were timed as accepted before they were made (a clock was changed): they are left out "
            "of the time to acceptance."))
    duplicates = sum(store.duplicates for store in stores)
    if duplicates:
        notes.append(plural(
            duplicates, "{n} session was found in more than one store (the same store read twice?) and is counted "
            "once.", "{n} sessions were found in more than one store (the same store read twice?) and are counted "
            "once."))
    return notes + _fleet_notes(stores)


def _fleet_notes(stores: list[StoreRead]) -> list[str]:
    """What the kiosks read through the fleet service left out."""
    notes = [f"{store.label}: what it sent from the store also read from {file} is counted once, from that file."
             for store in stores for file in store.counted_from]
    unknown = sum(store.unknown for store in stores)
    if unknown:
        notes.append(plural(
            unknown, "{n} event received from kiosks in the period is of a kind this version of assist does not know "
            "(a kiosk upgraded first): no figure counts it.", "{n} events received from kiosks in the period are of "
            "kinds this version of assist does not know (kiosks upgraded first): no figure counts them."))
    return notes


def _session_sections(conn: sqlite3.Connection, period: Period, sessions: int, submitted: int) -> list[Section]:
    """The figures that need sessions: by day, outcome, last step, help, channel and language."""
    by_day: dict[str, tuple[int, int]] = {
        day: (count, done)
        for day, count, done in conn.execute("SELECT day, count(*), count(submitted_at) FROM started GROUP BY day")}
    days = tuple(Row(day.isoformat(), long_date(day), by_day.get(day.isoformat(), (0, 0))) for day in period.days)
    months: dict[str, list[int]] = {}
    for day in period.days:
        month = months.setdefault(day.isoformat()[:7], [0, 0, 0])
        count, done = by_day.get(day.isoformat(), (0, 0))
        month[0] += count
        month[1] += done
        month[2] += 1
    long_period = len(days) > DAILY_TABLE_DAYS
    counts = (Column("sessions", "Sessions"), Column("submitted", "Submitted"))
    sections = [
        Section("sessions_per_day", "Sessions per day",
                "Sessions started each day (UTC), and how many of them ended in a submission."
                + (" The table gives each month; the CSV gives each day." if long_period else ""),
                "Day", counts, days, Chart("days", ("sessions", "submitted"), "sessions"),
                table_in_html=not long_period),
        Section("sessions_per_month", "Sessions per month", "", "Month",
                counts + (Column("days", "Days in the period"),),
                tuple(Row(month, date.fromisoformat(f"{month}-01").strftime("%B %Y"), tuple(values))
                      for month, values in months.items()), in_html=long_period),
    ]

    share = (Column("sessions", "Sessions"), Column("share", "Share", "rate"))
    outcomes = conn.execute("SELECT outcome, count(*) FROM started GROUP BY outcome ORDER BY count(*) DESC, outcome")
    sections.append(Section(
        "outcomes", "How sessions ended",
        "Started again: a new session was begun at the kiosk. Walked away: the kiosk's inactivity timeout cleared "
        "it. Conversation expired: a text conversation was left unfinished. The kiosk had a problem: an "
        "unexpected error sent it back to its start (its log says why). The kiosk was stopped: by staff, the "
        "system or its screen going away, which wipes the visit. No outcome recorded: still in progress, or the "
        "machine stopped.", "Outcome", share,
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
            tuple(Row(stage, step_label(stage), (count, _rate(count, sessions - submitted)))
                  for stage, count in gave_up),
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
