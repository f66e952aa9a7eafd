"""`assist report` on the council's store on PostgreSQL: the same sessions and submissions, written the
same way into a SQLite store and into a PostgreSQL one, give the same figures; only the report's
columns are fetched, never a resident's."""

from __future__ import annotations

from datetime import date

import pytest

from sync.config import load_settings
from sync.reporting import postgres as reporting_postgres
from sync.reporting.report import Period, ReportError, build
from sync.reporting.stores import PERSONAL_COLUMNS
from sync.store import Store
from tests.sync.reporting.test_report import (
    KIOSK,
    KIOSK_SUBMISSIONS,
    SMS,
    SMS_SUBMISSIONS,
    Clock,
    report_of,
    submit,
    visit,
)

BAD_ROW = ("INSERT INTO session_events (session, channel, device_id, at, event) "
           "VALUES ('s-odd', 'kiosk', 'k', '2026-11-03T10:00:00.000000Z', 'teleported')")


def fill(settings) -> None:
    """A kiosk's and the text service's sessions and submissions in one store, and a row the report skips."""
    clock = Clock()
    store = Store.open(settings, clock=clock)
    try:
        for channel, sessions in (("kiosk", KIOSK), ("sms", SMS)):
            for start, language, steps in sessions:
                visit(store, channel, start, language, steps)
        submit(store, clock, "kiosk", KIOSK_SUBMISSIONS)
        submit(store, clock, "sms", SMS_SUBMISSIONS)
        store.db.conn.execute(BAD_ROW)
    finally:
        store.close()


@pytest.fixture
def env(tmp_path, postgres_url) -> dict[str, str]:
    """The council's service, its store on PostgreSQL."""
    return {"ASSIST_STORE__URL": postgres_url, "ASSIST_STORE__KEY_FILE": str(tmp_path / "assist.key"),
            "ASSIST_KIOSK__DEVICE_ID": "sms-server"}


def labelled(figures: dict, label: str) -> dict:
    """The figures with the store's name (a file, or a database) as one word."""
    return {(section, group.replace(label, "STORE"), name): value
            for (section, group, name), value in figures.items()}


@pytest.mark.slow
def test_a_store_on_postgresql_gives_the_same_figures_as_the_same_rows_in_sqlite(run, tmp_path, settings):
    fill(settings)
    copy = tmp_path / "same.db"
    fill(load_settings(environ={"ASSIST_STORE__PATH": str(copy), "ASSIST_KIOSK__DEVICE_ID": "sms-server"}))

    on_postgres, figures_postgres, _ = report_of(run, tmp_path, [])
    in_sqlite, figures_sqlite, _ = report_of(run, tmp_path, [copy])
    assert on_postgres.exit_code == 0 and in_sqlite.exit_code == 0, on_postgres.output + in_sqlite.output
    assert "11 sessions from 1 store" in on_postgres.output
    label = f"{settings.store_name} (this service)"
    assert ("stores", label, "sessions") in figures_postgres
    assert labelled(figures_postgres, label) == labelled(figures_sqlite, str(copy))
    assert any(section == "skipped_rows" for section, _, _ in figures_postgres)


def test_a_postgresql_database_that_is_not_a_store_is_refused_in_words(postgres):
    with pytest.raises(ReportError, match="is a PostgreSQL database but not an assist store"):
        build([("the council's database", postgres.new_database())], Period(date(2026, 11, 1), date(2026, 11, 2)))


def test_only_the_reports_own_columns_are_fetched_never_a_residents():
    for table, columns in reporting_postgres.READ.items():
        assert not set(columns) & PERSONAL_COLUMNS.get(table, set())
