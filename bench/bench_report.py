"""The take-up report over a year: 100,000 sessions (about 9 events each) in two stores, one a
kiosk's and one the SMS service's, against a plain read of every event row in the same run.
Target (issue 7): the whole report, HTML and CSV, in under 5 s.

Then the same year read from the council's store alone: the SMS service's own records and the
kiosk's as the fleet service keeps what it sends (kiosks.py reads them).

The stores are written in bulk, straight into the tables (not through `sync.store.events.record`, which
commits one row at a time), with a seeded random walk through the questions.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

# The page loads matplotlib and jinja2 (the `[report]` extra) when it is first made; loaded here, so that
# "charts, HTML and CSV" times the drawing, as before. The whole command's line still counts the imports.
import jinja2  # noqa: F401

from sync.reporting import charts  # noqa: F401
from sync.reporting.page import write_csv, write_html
from sync.reporting.report import Period, build
from sync.store import db as db_module
from sync.store import events, iso

SESSIONS = 100_000
KIOSK_SHARE = 0.7
YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
QUESTIONS = ("location", "attribute.size", "attribute.surface", "description", "name", "phone", "email", "consent")
SERVICES = ("pothole", "fly_tipping", "street_light", "graffiti", "bins")
CODES = ["en"] * 80 + ["cy"] * 12 + ["pl"] * 4 + ["ro"] * 2 + ["ur"] * 2  # a draw from these is a language


def _journey(rng: random.Random, channel: str) -> tuple[str, bool, list[tuple[str, str | None, str | None, float]]]:
    """One resident's way through: language, help, and (event, step, service, mean seconds before it)."""
    language = rng.choice(CODES)
    assisted = channel == "kiosk" and rng.random() < 0.25
    steps: list[tuple[str, str | None, str | None, float]] = [(events.STARTED, None, None, 1)]
    if assisted:
        steps.append((events.ASSISTED, None, None, 30))
    if rng.random() < 0.05:
        steps.append((events.LANGUAGE, None, None, 20))
    service = rng.choice(SERVICES)
    if rng.random() < 0.92:
        steps.append((events.SERVICE, None, service, 30))
        reached = len(QUESTIONS) if rng.random() < 0.72 else rng.randrange(len(QUESTIONS))
        steps += [(events.QUESTION, step, service, 40 if channel == "kiosk" else 400) for step in QUESTIONS[:reached]]
        if reached == len(QUESTIONS):
            steps.append((events.CHECK, None, service, 30))
            if rng.random() < 0.95:
                return language, assisted, steps + [(events.SUBMITTED, None, service, 30)]
    reason = "expired" if channel == "sms" else rng.choice(("timeout", "restart"))
    return language, assisted, steps + [(events.ABANDONED, reason, None, 120)]


def generate(path: Path, sessions: int, channel: str, device_id: str, seed: int) -> int:
    """Write `sessions` sessions of `channel` spread over YEAR into a new store; returns the rows."""
    rng = random.Random(seed)
    events_rows, submissions = [], []
    first = datetime.combine(YEAR.since, datetime.min.time(), tzinfo=timezone.utc)
    days = (YEAR.until - YEAR.since).days + 1
    for number in range(sessions):
        session = f"{seed:02d}{number:030x}"
        hours = 9 + rng.random() * 8 if channel == "kiosk" else rng.random() * 24  # library hours, or any time
        at = first + timedelta(days=rng.randrange(days), hours=hours)
        language, assisted, steps = _journey(rng, channel)
        for event, step, service, gap in steps:
            at += timedelta(seconds=rng.expovariate(1 / gap))
            language = "cy" if event == events.LANGUAGE else language
            events_rows.append((session, channel, device_id, iso(at), event, service, language, step, int(assisted)))
        if steps[-1][0] == events.SUBMITTED:
            state = "accepted" if rng.random() < 0.9 else "queued"
            accepted_at = iso(at + timedelta(seconds=rng.expovariate(1 / 900))) if state == "accepted" else None
            submissions.append((f"R{seed:02d}{number:08d}", f"k{seed}-{number}", channel, device_id, language,
                                "bench-1", steps[-1][2], state, iso(at), accepted_at, iso(at), iso(at)))
    db = db_module.connect(path)  # migrated like any store, then filled in one transaction
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO session_events (session, channel, device_id, at, event, service_code, language, "
                     "step, assisted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", events_rows)
    conn.executemany(
        "INSERT INTO submissions (reference, idempotency_key, channel, device_id, language, catalogue_version, "
        "service_code, state, created_at, accepted_at, updated_at, next_attempt_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", submissions)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return len(events_rows)


def _as_received(kiosk: Path, council: Path, device_id: str) -> int:
    """The kiosk's events and finished submissions put in the council's store as the fleet service
    keeps what a kiosk sends (sync/fleet/uploads.py, fleet/events.py), in bulk; returns the rows."""
    source = sqlite3.connect(f"{kiosk.resolve().as_uri()}?mode=ro", uri=True)
    rows = []
    for event_id, kind, session, *fields in source.execute(
            "SELECT id, event, session, at, channel, service_code, language, step, assisted FROM session_events"):
        body = dict(zip(("at", "channel", "service_code", "language", "step"), fields), session=session,
                    assisted=bool(fields[-1]))
        rows.append((f"e{event_id}.{session[:8]}", kind, body, fields[0]))
    for submission_id, *fields in source.execute(
            "SELECT id, channel, service_code, created_at, accepted_at, state FROM submissions "
            "WHERE state IN ('accepted', 'cancelled', 'exported')"):
        body = dict(zip(("channel", "service_code", "created_at", "accepted_at", "outcome"), fields))
        rows.append((f"s{submission_id}.bench", "submission", body, fields[2]))
    source.close()
    conn = sqlite3.connect(council)
    with conn:
        conn.executemany(
            "INSERT INTO fleet_events (device_id, store_id, event_id, kind, known, version, body, received_at) "
            "VALUES (?, 'bench-store', ?, ?, 1, 1, ?, ?)",
            [(device_id, event_id, kind, json.dumps({name: value for name, value in body.items() if value is not None},
                                                    sort_keys=True), received)
             for event_id, kind, body, received in rows])
    conn.close()
    return len(rows)


def _plain_read(paths: list[Path]) -> int:
    """The floor: read every event row once, read-only, doing nothing with it."""
    rows = 0
    for path in paths:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        for _ in conn.execute("SELECT session, channel, device_id, at, event, service_code, language, step, assisted "
                              "FROM session_events"):
            rows += 1
        conn.close()
    return rows


def _command(paths: list[Path], folder: Path) -> tuple[float, float]:
    """`assist report` as a person runs it, imports and all: (wall, CPU) seconds."""
    command = [sys.executable, "-m", "assist", "report", "--since", YEAR.since.isoformat(), "--until",
               YEAR.until.isoformat(), *[part for path in paths for part in ("--store", str(path))],
               "--out", str(folder / "report.html"), "--csv", str(folder / "report.csv")]
    environ = {**os.environ, "ASSIST_STORE__PATH": str(folder / "this-machine.db")}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, env=environ, capture_output=True, cwd=Path(__file__).resolve().parents[1])
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(report) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        kiosk_sessions = int(SESSIONS * KIOSK_SHARE)
        paths = [folder / "central-library.db", folder / "sms-server.db"]
        start = time.perf_counter()
        rows = generate(paths[0], kiosk_sessions, "kiosk", "central-library-1", 1)
        rows += generate(paths[1], SESSIONS - kiosk_sessions, "sms", "sms-server", 2)
        report("generating the stores (bulk insert, not part of the report)", time.perf_counter() - start, "s",
               f"{SESSIONS:,} sessions, {rows:,} event rows")

        start = time.perf_counter()
        assert _plain_read(paths) == rows
        baseline = time.perf_counter() - start
        report("plain read of every event row (baseline)", baseline, "s", f"{rows / baseline:,.0f} rows/s")

        start = time.perf_counter()
        figures = build([(path.name, path) for path in paths], YEAR)
        computed = time.perf_counter() - start
        assert figures.sessions == SESSIONS, figures.sessions
        report("the year's figures (SQL aggregation)", computed, "s", f"ratio {computed / baseline:.2f} of the read")
        start = time.perf_counter()
        write_html(figures, folder / "page.html", produced=YEAR.until)
        write_csv(figures, folder / "page.csv")
        written = time.perf_counter() - start
        report("charts, HTML and CSV", written, "s", f"ratio {written / baseline:.2f} of the read")

        wall, cpu = _command(paths, folder)
        report("whole `assist report` command over the year", wall, "s",
               f"ratio {wall / baseline:.2f} of the read; {cpu:.2f} s CPU (target < 5 s: "
               f"{'met' if wall < 5 else 'MISSED'})")

        council = folder / "council.db"  # the SMS service's store is the council's, with the fleet service
        shutil.copy(paths[1], council)
        received = _as_received(paths[0], council, "central-library-1")
        start = time.perf_counter()
        central = build([("council", council)], YEAR)
        through = time.perf_counter() - start
        assert central.sessions == SESSIONS, central.sessions
        report("the same figures from the council's store alone", through, "s",
               f"the kiosk's {received:,} rows as the fleet service keeps them; ratio {through / computed:.2f} of "
               "the two store files")
