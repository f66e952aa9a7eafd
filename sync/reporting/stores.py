"""Reading stores for the take-up report: each one attached read-only, its events folded into one
row per session in the report's in-memory work database.

Copied stores are somebody else's records, so they are opened read-only (SQLite URI `mode=ro`)
and never migrated (a store on PostgreSQL is read through postgres.py, into the same shape); a
store from before session events existed still gives its submissions' acceptance times. Rows the
report cannot understand (an unknown kind of event, a time it cannot read, a missing value, a
session with no start) are skipped and counted by reason. Only the columns named here are ever
read, and an SQLite authorizer refuses any query that would read a submission's personal columns.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from sync.reporting.model import Period, ReportError, StoreRead
from sync.reporting.postgres import attach_postgres, fleet_facts
from sync.store import events, iso

log = logging.getLogger(__name__)

#: Columns the report must never read, even by mistake: what residents told us.
PERSONAL_COLUMNS = {"submissions": {"payload", "contact", "notify_phone", "assisted_by"}}
#: The values an event cannot do without; a row missing one is skipped.
REQUIRED = {events.STARTED: ("channel", "language"), events.SERVICE: ("service_code",), events.QUESTION: ("step",),
            events.ABANDONED: ("step",), events.LANGUAGE: ("language",)}
AT_LENGTH = len(iso(datetime(2000, 1, 1, tzinfo=timezone.utc)))  # "2026-11-24T10:00:00.000000Z": 27


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
#: perhaps changed on the way), the rows it had to skip, and its visits only to check on a request.
#: One pass groups the rows by session, keeping the ids of the rows that matter (the last recorded of
#: each kind); those few rows are then looked up. The inner LIMIT keeps SQLite from flattening the
#: subquery, so each row's kind is worked out once, not once per aggregate. Kept: the sessions started
#: in the period, and the sessions with no start that had events in the period (their rows are
#: counted as skipped).
#:
#: A kiosk's first page is where the next resident begins, so a language chosen there (a `language`
#: event: the kiosk records one each time its first page is answered again) starts a new stretch of
#: the session; each stretch with a status check and no step of a report is a visit only to check on
#: a request. Counting status-checked sessions instead missed a check followed, after a return to the
#: first page, by another check or by somebody's report.
SESSIONS_SQL = f"""
CREATE TEMP TABLE store_sessions AS
WITH kinds AS MATERIALIZED (
  SELECT id, session, at, assisted, {_kind_sql()} AS kind FROM store.session_events LIMIT -1),
stretches AS (
  SELECT session, max(kind = 'status') AND NOT max(kind IN ('service', 'question', 'check', 'submitted'))
    AS status_only
  FROM (SELECT session, kind, sum(kind = 'language') OVER (PARTITION BY session ORDER BY id) AS stretch
        FROM kinds)
  GROUP BY session, stretch),
status_visits AS (SELECT session, sum(status_only) AS visits FROM stretches GROUP BY session),
grouped AS (
  SELECT session,
    min(CASE WHEN kind = 'started' THEN at END) AS started_at,
    min(CASE WHEN kind = 'started' THEN id END) AS start_id,
    min(CASE WHEN kind = 'submitted' THEN at END) AS submitted_at,
    max(CASE WHEN kind IN ('service', 'question', 'check') THEN id END) AS step_id,
    max(CASE WHEN kind = 'abandoned' THEN id END) AS abandoned_id,
    max(CASE WHEN kind IN ('started', 'language') THEN id END) AS language_id,
    max(kind = 'assisted' OR (assisted = 1 AND kind NOT LIKE '!%')) AS assisted,
    group_concat(CASE WHEN kind LIKE '!%' THEN substr(kind, 2) END) AS problems,
    count(*) AS rows
  FROM kinds
  GROUP BY session
  HAVING started_at >= :start AND started_at < :end
      OR started_at IS NULL AND max(at >= :start AND at < :end))
SELECT grouped.session, started_at, start.channel, submitted_at,
  CASE step.event WHEN 'question' THEN 'question:' || step.step ELSE step.event END AS last_step,
  abandoned.step AS abandoned, grouped.assisted, language.language, problems, rows,
  status_visits.visits
FROM grouped
LEFT JOIN status_visits ON status_visits.session = grouped.session
LEFT JOIN store.session_events AS start ON start.id = start_id
LEFT JOIN store.session_events AS step ON step.id = step_id
LEFT JOIN store.session_events AS abandoned ON abandoned.id = abandoned_id
LEFT JOIN store.session_events AS language ON language.id = language_id
"""

WORK_SCHEMA = """
CREATE TABLE sessions (session TEXT PRIMARY KEY, started_at TEXT, channel TEXT, submitted_at TEXT, last_step TEXT,
                       abandoned TEXT, assisted INTEGER, language TEXT, problems TEXT, rows INTEGER,
                       status_visits INTEGER);
CREATE TABLE submissions (reference TEXT PRIMARY KEY, channel TEXT, created_at TEXT, accepted_at TEXT);
"""


def authorize(action: int, arg1: str | None, arg2: str | None, database: str | None, trigger: str | None) -> int:
    """Refuse, loudly, any statement that would read what a resident told us (from a store, or from
    the council's store attached as `fleet` for its kiosks' events)."""
    if action == sqlite3.SQLITE_READ and database in ("store", "fleet") and \
            arg2 in PERSONAL_COLUMNS.get(arg1 or "", ()):
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
        store_id, kiosk_events = fleet_facts(conn, tables)
    except sqlite3.DatabaseError as error:
        detach(conn)
        raise ReportError(f"{label} is not an assist store: SQLite cannot read it ({error}).") from None
    if version is None or "submissions" not in tables:
        detach(conn)
        raise ReportError(f"{label} is an SQLite file but not an assist store (it has no outbox).")
    return StoreRead(label, version, "session_events" in tables, store_id=store_id, kiosk_events=kiosk_events)


def detach(conn: sqlite3.Connection) -> None:
    if any(name == "store" for _, name, _ in conn.execute("PRAGMA database_list")):
        conn.execute("DETACH DATABASE store")


def read_store(conn: sqlite3.Connection, source: Path | str, label: str, period: Period) -> StoreRead:
    """Fold one store's sessions and submissions of the period into the work database: a SQLite
    file (`Path`), or a PostgreSQL store's URL (`str`: its rows fetched by postgres.py)."""
    read = _attach(conn, source, label) if isinstance(source, Path) else attach_postgres(conn, source, label)
    fold(conn, read, period)
    return read


def fold(conn: sqlite3.Connection, read: StoreRead, period: Period) -> None:
    """Fold the store attached as `store` into the work database, and detach it: its sessions (if
    `read.has_events`) and its submissions of the period, counting what it gave and what it skipped."""
    label = read.label
    bounds = {"start": period.start, "end": period.end}
    try:
        if read.has_events:
            conn.execute(SESSIONS_SQL, bounds)
            read.duplicates = conn.execute("SELECT count(*) FROM store_sessions WHERE started_at IS NOT NULL "
                                           "AND session IN (SELECT session FROM main.sessions)").fetchone()[0]
            read.sessions = conn.execute("SELECT count(*) FROM store_sessions "
                                         "WHERE started_at IS NOT NULL").fetchone()[0] - read.duplicates
            for problems, rows, started in conn.execute(
                    "SELECT problems, rows, started_at IS NOT NULL FROM store_sessions "
                    "WHERE problems IS NOT NULL OR started_at IS NULL"):
                reasons = problems.split(",") if problems else []
                read.skipped.update(reasons)
                if not started:
                    read.skipped["no_start"] += rows - len(reasons)
            conn.execute("INSERT OR IGNORE INTO main.sessions SELECT * FROM store_sessions "
                         "WHERE started_at IS NOT NULL")
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
        detach(conn)
    if not read.has_events:
        log.warning("%s has no session events: it was written by an older version of assist (schema %s)",
                    label, read.version)
    if read.skipped:
        log.warning("%s: %d session event rows skipped (%s)", label, sum(read.skipped.values()),
                    ", ".join(f"{count} {reason}" for reason, count in sorted(read.skipped.items())))
