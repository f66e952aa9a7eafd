"""`assist report`: the take-up report's figures checked against sessions with known answers, in
two real stores (a kiosk's and the SMS service's), written the way the channels write them
(sync/events.record) and read through the real command, as HTML and as CSV."""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sync.config import load_settings
from sync.reporting import stores as stores_module
from sync.store import Store, events, migrations
from sync.store import db as db_module
from tests.helpers import DESCRIPTION, EMAIL, PHONE, draft

SINCE, UNTIL = "2026-11-02", "2026-11-04"
S, Q, C = events.SERVICE, events.QUESTION, events.CHECK

#: (start, language, [(seconds after the start, event, value)]) for each session. A value is the
#: service of SERVICE, the key of QUESTION, the reason of ABANDONED, the new language of LANGUAGE.
KIOSK = [
    ("2026-11-01T23:59:59", "en", [(60, S, "pothole"), (120, events.SUBMITTED, None)]),  # the day before
    ("2026-11-02T10:00:00", "en", [(20, S, "pothole"), (60, Q, "location"), (120, Q, "attribute.size"),
                                   (180, Q, "description"), (240, C, None), (300, events.SUBMITTED, None)]),
    ("2026-11-02T11:00:00", "cy", [(10, events.ASSISTED, None), (30, S, "pothole"), (90, Q, "location"),
                                   (300, Q, "description"), (500, C, None), (600, events.SUBMITTED, None)]),
    ("2026-11-02T12:00:00", "en", [(30, S, "pothole"), (60, Q, "location"), (100, Q, "attribute.size"),
                                   (400, events.ABANDONED, "timeout")]),
    ("2026-11-03T09:30:00", "en", [(20, events.LANGUAGE, "pl"), (60, S, "fly_tipping"), (120, Q, "location"),
                                   (800, C, None), (900, events.SUBMITTED, None)]),
    ("2026-11-03T14:00:00", "en", [(45, events.ABANDONED, "restart")]),
    ("2026-11-04T16:00:00", "cy", [(5, events.ASSISTED, None), (40, S, "street_light"), (80, Q, "location"),
                                   (300, events.ABANDONED, "timeout")]),
    ("2026-11-04T23:50:00", "en", [(60, S, "pothole"), (300, Q, "location"), (1100, C, None),
                                   (1200, events.SUBMITTED, None)]),  # submitted after midnight: counts on the 4th
    ("2026-11-05T00:00:00", "en", [(60, S, "pothole")]),  # the day after
]
SMS = [
    ("2026-11-02T08:00:00", "en", [(30, S, "pothole"), (600, Q, "location"), (1200, Q, "attribute.size"),
                                   (2400, Q, "description"), (3000, C, None), (3600, events.SUBMITTED, None)]),
    ("2026-11-03T20:00:00", "cy", [(60, S, "bins"), (300, Q, "location"), (86400, events.ABANDONED, "expired")]),
    ("2026-11-04T07:00:00", "en", [(60, S, "pothole"), (200, Q, "location"), (400, Q, "description"), (500, C, None)]),
    ("2026-11-04T12:00:00", "en", [(60, S, "pothole"), (600, Q, "location"), (1200, Q, "description"),
                                   (1500, C, None), (1800, events.SUBMITTED, None)]),
]
#: Submissions: (created, seconds until the council accepted it, or None while it has not).
KIOSK_SUBMISSIONS = [("2026-11-02T10:05:00", 120), ("2026-11-02T11:10:00", 600), ("2026-11-03T09:45:00", 3600),
                     ("2026-11-05T00:10:00", 60)]  # made the day after the period: not counted
SMS_SUBMISSIONS = [("2026-11-02T09:00:00", 300), ("2026-11-04T12:30:00", None)]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = moment("2026-11-01T00:00:00")

    def __call__(self) -> datetime:
        return self.now


def open_store(path: Path, device_id: str, clock: Clock | None = None) -> Store:
    settings = load_settings(environ={"ASSIST_STORE__PATH": str(path), "ASSIST_KIOSK__DEVICE_ID": device_id})
    return Store.open(settings, **({"clock": clock} if clock else {}))


def visit(store: Store, channel: str, start: str, language: str, steps) -> str:
    """Record one session as a channel does; returns its id."""
    session = events.new_session()
    helped, service, began = False, None, moment(start)
    events.record(store, session, events.STARTED, channel=channel, language=language, at=began)
    for seconds, event, value in steps:
        helped = helped or event == events.ASSISTED
        language = value if event == events.LANGUAGE else language
        service = value if event == events.SERVICE else service
        step = value if event in (events.QUESTION, events.ABANDONED) else None
        assert events.record(store, session, event, channel=channel, language=language, service_code=service,
                             step=step, assisted=helped, at=began + timedelta(seconds=seconds))
    return session


def submit(store: Store, clock: Clock, channel: str, submissions) -> None:
    """Save submissions and have the worker's path mark them accepted, at known times."""
    for number, (created, accepted_after) in enumerate(submissions):
        clock.now = moment(created)
        saved = store.enqueue(draft(channel=channel, idempotency_key=f"{channel}-{number}"))
        if accepted_after is None:
            continue
        clock.now += timedelta(seconds=accepted_after)
        (claimed,) = store.claim("worker", limit=1)
        assert claimed.id == saved.id
        store.mark_sending(claimed.id, "worker")
        store.mark_accepted(claimed.id, "worker", f"SR-{channel}-{number}")


def build_store(path: Path, device_id: str, channel: str, sessions, submissions) -> Path:
    clock = Clock()
    store = open_store(path, device_id, clock)
    for start, language, steps in sessions:
        visit(store, channel, start, language, steps)
    submit(store, clock, channel, submissions)
    store.close()
    return path


def report_of(run, tmp_path, stores, *extra: str, since: str = SINCE, until: str | None = UNTIL):
    """Run `assist report` on `stores`; returns the result, the CSV's figures and the page."""
    out, table = tmp_path / "report.html", tmp_path / "report.csv"
    args = ["report", "--since", since, *(["--until", until] if until else []),
            *[part for path in stores for part in ("--store", str(path))], "--out", str(out), "--csv", str(table),
            *extra]
    result = run(*args)
    if result.exit_code:
        return result, None, None
    with table.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    figures = {(row["section"], row["group"], row["measure"]): row["value"] for row in rows}
    assert len(figures) == len(rows)  # one value a figure
    return result, figures, out.read_text(encoding="utf-8")


# -------------------------------------------------------------------------------------------------
# The figures

def test_figures_across_a_kiosk_store_and_an_sms_store_match_the_known_answers(run, tmp_path, stores):
    result, figures, _ = report_of(run, tmp_path, stores)
    assert result.exit_code == 0, result.output
    assert "11 sessions from 2 stores." in result.output

    def measure(section, group, name):
        return figures[(section, group, name)]

    assert [measure("summary", "all", name) for name in
            ("sessions", "submitted", "completion_rate", "assisted_share")] == ["11", "6", "0.5455", "0.1818"]
    assert [(day, measure("sessions_per_day", day, "sessions"), measure("sessions_per_day", day, "submitted"))
            for day in ("2026-11-02", "2026-11-03", "2026-11-04")] == [
        ("2026-11-02", "4", "3"), ("2026-11-03", "3", "1"), ("2026-11-04", "4", "2")]
    assert ("sessions_per_day", "2026-11-01", "sessions") not in figures
    assert {group: value for (section, group, name), value in figures.items()
            if section == "outcomes" and name == "sessions"} == {
        "submitted": "6", "abandoned:timeout": "2", "abandoned:restart": "1", "abandoned:expired": "1",
        "no_outcome": "1"}
    gave_up = {group: value for (section, group, name), value in figures.items()
               if section == "gave_up" and name == "sessions"}
    assert gave_up == {"question:location": "2", "question:attribute.size": "1", "start": "1", "check": "1"}
    assert measure("gave_up", "question:location", "share") == "0.4000"
    assert [measure("assisted", group, name) for group in ("assisted", "unassisted")
            for name in ("sessions", "submitted")] == ["2", "1", "9", "5"]
    assert [measure("channels", channel, name) for channel in ("kiosk", "sms")
            for name in ("sessions", "submitted", "completion_rate", "assisted")] == [
        "7", "4", "0.5714", "2", "4", "2", "0.5000", "0"]
    assert [(code, measure("languages", code, "sessions"), measure("languages", code, "submitted"))
            for code in ("en", "cy", "pl")] == [("en", "7", "4"), ("cy", "3", "1"), ("pl", "1", "1")]
    # started -> submitted: kiosk 300, 600, 900, 1200 s; SMS 3600, 1800 s
    assert [measure("time_to_complete", group, name) for group in ("all", "kiosk", "sms")
            for name in ("sessions", "median_seconds", "p90_seconds")] == [
        "6", "1050", "2700", "4", "750", "1110", "2", "2700", "3420"]
    # created -> accepted, for submissions made in the period: kiosk 120, 600, 3600 s; SMS 300 s (and one waiting)
    assert [measure("time_to_acceptance", group, name) for group in ("all", "kiosk", "sms")
            for name in ("submissions", "accepted", "median_seconds", "p90_seconds")] == [
        "5", "4", "450", "2700", "3", "3", "600", "3000", "2", "1", "300", "300"]
    assert measure("summary", "all", "median_seconds_to_acceptance") == "450"
    assert [measure("stores", str(path), "sessions") for path in stores] == ["7", "4"]
    assert not any(section == "skipped_rows" for section, _, _ in figures)


def test_the_page_is_one_self_contained_file_with_inline_charts_each_described_in_words(run, tmp_path, stores):
    _, _, page = report_of(run, tmp_path, stores)
    parsed = Page.parse(page)
    charts = parsed.elements("svg")
    assert len(charts) == 8  # per day, outcomes, gave up, help, channels, languages, two timings
    for chart in charts:
        assert chart["role"] == "img"
        assert parsed.text_of(chart["aria-labelledby"])  # the chart's <title>
        assert "Horizontal bar chart" in parsed.text_of(chart["aria-describedby"]) or \
            "Chart of sessions per day" in parsed.text_of(chart["aria-describedby"])
    for tag, attributes in parsed.tags:
        for name, value in attributes.items():
            if name in ("src", "href", "xlink:href", "action") or value and "url(" in value:
                assert value.startswith(("#", "url(#")), (tag, name, value)
    assert not parsed.elements("script") and not parsed.elements("link") and not parsed.elements("img")
    assert "@media print" in page
    # the tables say what the charts show
    gave_up = parsed.table_after("Where people gave up")
    assert gave_up[0] == ["Last step reached", "Sessions", "Share of those who did not submit"]
    assert gave_up[1:] == [["Question: location", "2", "40.0%"], ["Checking the answers", "1", "20.0%"],
                           ["Question: attribute.size", "1", "20.0%"], ["Before choosing a service", "1", "20.0%"]]
    assert parsed.table_after("Languages")[1] == ["English (en)", "7", "63.6%", "4", "57.1%"]
    assert parsed.table_after("Time to complete")[2] == ["Library kiosk", "4", "12 min 30 s", "18 min 30 s"]
    # the caption of a chart reads its figures out
    assert "Welsh (cy): 3 sessions, 1 submitted" in parsed.text_of("chart-languages-caption")
    assert parsed.definitions[:4] == [("Sessions", "11"), ("Sessions ending in a submission", "6"),
                                      ("Completion rate", "54.5%"),
                                      ("Helped by a volunteer", "18.2%")]
    for secret in (PHONE, EMAIL, DESCRIPTION, "Station Road"):
        assert secret not in page


def test_a_long_period_prints_months_and_keeps_every_day_in_the_csv(run, tmp_path, stores):
    _, figures, page = report_of(run, tmp_path, stores, since="2026-09-01", until="2026-11-30")
    parsed = Page.parse(page)
    assert parsed.table_after("Sessions per month")[1:] == [
        ["September 2026", "0", "0", "30"], ["October 2026", "0", "0", "31"], ["November 2026", "13", "7", "30"]]
    assert not any(title == "Sessions per day" for title, _ in parsed.tables)  # a chart, not 91 rows
    assert "Chart of sessions per day from 1 September 2026 to 30 November 2026: 13 in all" in page
    assert len([key for key in figures if key[0] == "sessions_per_day" and key[2] == "sessions"]) == 91
    assert figures[("sessions_per_day", "2026-11-05", "sessions")] == "1"


def test_two_runs_over_the_same_stores_give_the_same_files(run, tmp_path, stores):
    report_of(run, tmp_path, stores)
    first = [(tmp_path / name).read_bytes() for name in ("report.html", "report.csv")]
    report_of(run, tmp_path, stores)
    assert [(tmp_path / name).read_bytes() for name in ("report.html", "report.csv")] == first


def test_copied_stores_are_read_without_being_changed(run, tmp_path, stores):
    before = [hashlib.sha256(path.read_bytes()).hexdigest() for path in stores]
    report_of(run, tmp_path, stores)
    assert [hashlib.sha256(path.read_bytes()).hexdigest() for path in stores] == before


def test_without_store_it_reads_this_machines_store_up_to_today(run, env, tmp_path):
    store = open_store(Path(env["ASSIST_STORE__PATH"]), "kiosk-test-1")
    visit(store, "kiosk", datetime.now(timezone.utc).replace(tzinfo=None).isoformat(), "en",
          [(0, S, "pothole"), (0, Q, "location")])
    store.close()
    today = datetime.now(timezone.utc).date()
    result, figures, page = report_of(run, tmp_path, [], since=(today - timedelta(days=1)).isoformat(), until=None)
    assert result.exit_code == 0 and figures[("summary", "all", "sessions")] == "1"
    assert figures[("period", "all", "until")] == today.isoformat()
    assert figures[("gave_up", "question:location", "sessions")] == "1"
    assert "(this machine)" in page


def test_a_store_given_twice_or_copied_twice_counts_each_session_once(run, tmp_path, stores):
    copy = tmp_path / "copy-of-central.db"
    copy.write_bytes(stores[0].read_bytes())
    _, figures, page = report_of(run, tmp_path, [stores[0], stores[0], copy, stores[1]])
    assert figures[("summary", "all", "sessions")] == "11"
    assert figures[("stores", str(copy), "sessions")] == "0"
    assert "7 sessions were found in more than one store" in page
    assert figures[("time_to_acceptance", "all", "submissions")] == "5"


# -------------------------------------------------------------------------------------------------
# Bad input

def test_since_after_until_and_dates_that_are_not_dates_are_refused_plainly(run, tmp_path, stores):
    result, _, _ = report_of(run, tmp_path, stores, since="2026-11-05", until="2026-11-04")
    assert result.exit_code == 2 and "--since (2026-11-05) is after --until (2026-11-04)" in result.output
    for bad in ("2026-13-01", "24/11/2026", "yesterday"):
        result, _, _ = report_of(run, tmp_path, stores, since=bad)
        assert result.exit_code == 2 and f"'{bad}' is not a date: write it as YYYY-MM-DD" in result.output
    assert not (tmp_path / "report.html").exists()


def test_a_missing_store_or_a_file_that_is_not_a_store_is_named_and_nothing_is_written(run, tmp_path, stores):
    missing = tmp_path / "kiosk-2.db"
    result, _, _ = report_of(run, tmp_path, [stores[0], missing])
    assert result.exit_code == 1 and f"{missing}: there is no such file" in result.output
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all\n" * 100)
    result, _, _ = report_of(run, tmp_path, [text])
    assert result.exit_code == 1 and f"{text} is not an assist store" in result.output
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE birds (name TEXT)").connection.commit()
    result, _, _ = report_of(run, tmp_path, [other])
    assert result.exit_code == 1 and f"{other} is an SQLite file but not an assist store" in result.output
    assert not (tmp_path / "report.html").exists()
    result = run("report", "--since", SINCE, "--store", str(stores[0]), "--out", str(tmp_path / "no" / "r.html"))
    assert result.exit_code == 1 and "cannot write" in result.output


@pytest.mark.parametrize("left_out", ["matplotlib", "jinja2"])
def test_without_the_report_extra_it_says_in_one_line_how_to_install_it(run, tmp_path, stores, monkeypatch, left_out):
    """A kiosk's installation has no `[report]` extra: the command says how to add it, no traceback."""
    monkeypatch.setitem(sys.modules, left_out, None)  # what `import` meets where the package is not installed
    monkeypatch.delitem(sys.modules, "sync.reporting.charts", raising=False)
    result, _, _ = report_of(run, tmp_path, stores)
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: the HTML report needs matplotlib and jinja2, which this installation left out: "
        "install them with pip install 'assist-council-kiosk[report]'"]
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "report.csv").exists()
    missing = tmp_path / "no-such-store.sqlite"  # said first: before any store is read
    result = run("report", "--since", SINCE, "--store", str(missing), "--out", str(tmp_path / "report.html"))
    assert result.exit_code == 1 and "pip install 'assist-council-kiosk[report]'" in result.output


def test_an_empty_period_makes_a_report_that_says_there_were_no_sessions(run, tmp_path, stores):
    result, figures, page = report_of(run, tmp_path, stores, since="2025-06-01", until="2025-06-30")
    assert result.exit_code == 0 and "there were no sessions" in result.output
    assert "There were no sessions in this period" in page
    assert figures[("summary", "all", "sessions")] == "0" and figures[("summary", "all", "completion_rate")] == ""
    assert Page.parse(page).elements("svg") == []
    assert figures[("time_to_acceptance", "all", "submissions")] == "0"


def test_a_store_from_before_session_events_is_reported_as_such(run, tmp_path, stores):
    old_path = tmp_path / "old-kiosk.db"
    old = db_module.connect(old_path, migrate=False)
    migrations.apply(old, target=5)  # what a kiosk not yet updated has: an outbox, no session events
    old.conn.execute(
        "INSERT INTO submissions (reference, idempotency_key, channel, device_id, language, catalogue_version, "
        "service_code, state, created_at, updated_at, next_attempt_at, accepted_at) VALUES ('K7Q4MBXP9Z', 'k', "
        "'kiosk', 'old-kiosk', 'en', 'v1', 'pothole', 'accepted', '2026-11-03T10:00:00.000000Z', "
        "'2026-11-03T10:30:00.000000Z', '2026-11-03T10:00:00.000000Z', '2026-11-03T10:30:00.000000Z')")
    old.conn.close()
    result, figures, page = report_of(run, tmp_path, [stores[0], old_path])
    assert result.exit_code == 0
    assert f"{old_path} was written by an older version of assist (schema 5)" in page
    assert figures[("stores", str(old_path), "sessions")] == "" and figures[("summary", "all", "sessions")] == "7"
    assert figures[("time_to_acceptance", "kiosk", "accepted")] == "4"
    assert sqlite3.connect(old_path).execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == 5


def test_corrupt_event_rows_are_skipped_counted_and_reported_and_the_figures_stand(run, tmp_path, stores, caplog):
    kiosk = sqlite3.connect(stores[0])
    ids = dict(kiosk.execute("SELECT at, session FROM session_events WHERE event = 'started'").fetchall())
    rows = [
        (ids["2026-11-02T10:00:00.000000Z"], "2026-11-02T10:01:00.000000Z", "teleported", None),  # unknown kind
        (ids["2026-11-02T12:00:00.000000Z"], "2026-11-02 12:05", "question", "description"),  # unreadable time
        (ids["2026-11-04T16:00:00.000000Z"], "2026-11-04T16:02:00.000000Z", "question", None),  # no question key
        ("no-start", "2026-11-03T10:00:00.000000Z", "question", "location"),  # a session with no start...
        ("no-start", "2026-11-03T10:01:00.000000Z", "check", None),
        ("no-start", "2026-11-03T10:02:00.000000Z", "submitted", None),
        ("no-start", "2026-11-03T10:03:00.000000Z", "teleported", None),  # ...one of them of no known kind
    ]
    kiosk.executemany("INSERT INTO session_events (session, channel, device_id, at, event, step) "
                      "VALUES (?, 'kiosk', 'central-library-1', ?, ?, ?)", rows)
    kiosk.execute("INSERT INTO session_events (session, channel, device_id, at, event, language) "
                  "VALUES ('no-language', 'kiosk', 'central-library-1', '2026-11-03T11:00:00.000000Z', 'started', "
                  "NULL)")
    kiosk.execute("INSERT INTO session_events (session, channel, device_id, at, event, service_code, language) "
                  "VALUES ('no-language', 'kiosk', 'central-library-1', '2026-11-03T11:01:00.000000Z', 'service', "
                  "'pothole', 'en')")
    kiosk.commit()
    kiosk.close()
    with caplog.at_level(logging.WARNING):
        result, figures, page = report_of(run, tmp_path, stores)
    assert result.exit_code == 0
    label = str(stores[0])
    assert {(group, value) for (section, group, _), value in figures.items() if section == "skipped_rows"} == {
        (f"{label}:unknown_event", "2"), (f"{label}:unreadable_time", "1"), (f"{label}:missing_value", "2"),
        (f"{label}:no_start", "4")}
    assert f"{label}: 9 session event rows skipped" in caplog.text
    assert "9 event rows could not be used" in result.output
    assert "9 event rows could not be used" in page and "Rows skipped" in page
    # nothing else moved: the same sessions, submissions and last steps as without the bad rows
    assert figures[("summary", "all", "sessions")] == "11" and figures[("summary", "all", "submitted")] == "6"
    assert figures[("gave_up", "question:attribute.size", "sessions")] == "1"
    assert figures[("gave_up", "question:location", "sessions")] == "2"


def test_the_report_may_not_read_what_residents_told_us(stores):
    conn = sqlite3.connect(":memory:")
    conn.execute("ATTACH DATABASE ? AS store", (str(stores[0]),))
    conn.set_authorizer(stores_module.authorize)
    for column in ("payload", "contact", "notify_phone", "assisted_by"):
        with pytest.raises(sqlite3.DatabaseError, match="prohibited"):
            conn.execute(f"SELECT {column} FROM store.submissions")
    assert conn.execute("SELECT count(created_at) FROM store.submissions").fetchone()[0] == 4


def test_the_report_is_made_without_a_display(tmp_path, stores):
    environ = {key: value for key, value in os.environ.items() if key not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environ.update(MPLBACKEND="TkAgg", ASSIST_STORE__PATH=str(tmp_path / "here.db"))
    out = tmp_path / "headless.html"
    finished = subprocess.run([sys.executable, "-m", "assist", "report", "--since", SINCE, "--until", UNTIL,
                               "--store", str(stores[1]), "--out", str(out)], env=environ, capture_output=True,
                              text=True, cwd=Path(__file__).parents[3], check=False)
    assert finished.returncode == 0, finished.stderr
    assert Page.parse(out.read_text(encoding="utf-8")).elements("svg")


# -------------------------------------------------------------------------------------------------

class Page(HTMLParser):
    """Just enough of an HTML reader: every tag with its attributes, text by element id, tables."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: dict[str, list[str]] = {}
        self.open_ids: list[tuple[str, str]] = []
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.heading = ""
        self.in_heading = False
        self.cell: list[str] | None = None
        self.definitions: list[tuple[str, str]] = []  # (dt, dd) pairs
        self.term: list[str] | None = None

    @classmethod
    def parse(cls, text: str) -> "Page":
        page = cls()
        page.feed(text)
        page.close()
        return page

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.open_ids.append((tag, attributes["id"]))
            self.texts[attributes["id"]] = []
        if tag == "h2":
            self.in_heading, self.heading = True, ""
        elif tag == "table":
            self.tables.append((self.heading, []))
        elif tag == "tr":
            self.tables[-1][1].append([])
        elif tag in ("td", "th", "dt", "dd"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.open_ids and self.open_ids[-1][0] == tag:
            self.open_ids.pop()
        if tag == "h2":
            self.in_heading = False
        elif tag in ("td", "th") and self.cell is not None:
            self.tables[-1][1][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "dt":
            self.term, self.cell = self.cell, None
        elif tag == "dd":
            self.definitions.append(("".join(self.term or []).strip(), "".join(self.cell or []).strip()))
            self.cell = None

    def handle_data(self, data):
        for _, element_id in self.open_ids:
            self.texts[element_id].append(data)
        if self.in_heading:
            self.heading += data
        if self.cell is not None:
            self.cell.append(data)

    def elements(self, tag: str) -> list[dict[str, str]]:
        return [attributes for name, attributes in self.tags if name == tag]

    def text_of(self, element_id: str) -> str:
        return " ".join("".join(self.texts.get(element_id, [])).split())

    def table_after(self, heading: str) -> list[list[str]]:
        return next(rows for title, rows in self.tables if title == heading)


def test_a_visit_only_to_check_on_a_request_is_not_a_session_given_up(run, tmp_path, stores):
    store = open_store(stores[0], "central-library-1")
    visit(store, "kiosk", "2026-11-03T15:00:00", "en", [(20, events.STATUS, None), (60, events.ABANDONED, "restart")])
    store.close()
    _, figures, page = report_of(run, tmp_path, stores)
    (tmp_path / "before").mkdir()
    _, before, _ = report_of(run, tmp_path / "before", [build_store(tmp_path / "b" / "k.db", "k", "kiosk", KIOSK,
                                                                   KIOSK_SUBMISSIONS), stores[1]])
    assert figures[("summary", "all", "status_checks")] == "1"
    for figure in ("sessions", "completion_rate"):
        assert figures[("summary", "all", figure)] == before[("summary", "all", figure)]
    assert ("gave_up", "start", "sessions") not in figures or \
        figures[("gave_up", "start", "sessions")] == before[("gave_up", "start", "sessions")]


def test_each_return_to_the_first_page_begins_another_visit_only_to_check_on_a_request(run, tmp_path, stores):
    store = open_store(stores[0], "central-library-1")
    L, STATUS = events.LANGUAGE, events.STATUS
    visit(store, "kiosk", "2026-11-03T15:00:00", "en", [(20, STATUS, None), (60, L, "en"), (80, STATUS, None),
                                                         (90, L, "pl"), (95, STATUS, None), (99, STATUS, None)])
    visit(store, "kiosk", "2026-11-03T16:00:00", "en", [(20, STATUS, None), (60, L, "en"), (80, S, "pothole"),
                                                         (90, events.ABANDONED, "restart")])
    store.close()
    _, figures, _ = report_of(run, tmp_path, stores)
    assert figures[("summary", "all", "status_checks")] == "4"  # three in the first session, one in the second
    assert figures[("summary", "all", "sessions")] == "12"  # the report begun after a check is a session
    assert figures[("gave_up", "service", "sessions")] == "1"


def test_a_request_carried_by_hand_counts_as_accepted_whichever_store_is_read_first(run, tmp_path):
    clock = Clock()
    kiosk = open_store(tmp_path / "kiosk.db", "kiosk-1", clock)
    clock.now = moment("2026-11-02T10:00:00")
    saved = kiosk.enqueue(draft(idempotency_key="carried"))
    record = kiosk.hold_for_export("exporter")[0]
    kiosk.mark_exported([saved.reference], "exporter", "exported")
    kiosk.close()
    office = open_store(tmp_path / "office.db", "office", clock)
    office.enqueue(draft(idempotency_key=record["idempotency_key"]), reference=saved.reference,
                   created_at=moment("2026-11-02T10:00:00"))
    clock.now = moment("2026-11-02T10:10:00")
    (claimed,) = office.claim("worker", limit=1)
    office.mark_sending(claimed.id, "worker")
    office.mark_accepted(claimed.id, "worker", "SR-1")
    office.close()
    for order in ([tmp_path / "kiosk.db", tmp_path / "office.db"], [tmp_path / "office.db", tmp_path / "kiosk.db"]):
        (tmp_path / order[0].stem).mkdir()
        _, figures, _ = report_of(run, tmp_path / order[0].stem, order)
        assert figures[("summary", "all", "median_seconds_to_acceptance")] == "600", order


def test_a_question_key_that_looks_like_a_formula_is_drawn_as_text(run, tmp_path, stores):
    store = open_store(stores[0], "central-library-1")
    visit(store, "kiosk", "2026-11-03T15:00:00", "en", [(5, events.SERVICE, "pothole"),
                                                         (9, events.QUESTION, r"$\nosuchcommand$")])
    store.close()
    result, figures, page = report_of(run, tmp_path, stores)
    assert result.exit_code == 0, result.output
    assert figures[("gave_up", r"question:$\nosuchcommand$", "sessions")] == "1"
