"""`assist store copy --from URL --to URL`: a council's store moved to PostgreSQL through the command,
each table counted on both sides; a bad URL or a copy that came out different is one clear line and
exit 1, never a traceback, and a password in a URL is never shown."""

from __future__ import annotations

import sqlite3

import pytest

from sync.config import load_settings
from sync.store import copying
from tests.helpers import draft
from tests.store_contents import SUBMISSIONS, fill


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "kiosk" / "assist.db"
    fill(load_settings(environ={"ASSIST_STORE__PATH": str(path), "ASSIST_KIOSK__DEVICE_ID": "kiosk-test-1"}))
    return path


@pytest.mark.slow
def test_a_store_is_copied_to_postgresql_with_its_tables_counted_on_both_sides(run, source, postgres_url):
    result = run("store", "copy", "--from", f"sqlite:///{source}", "--to", postgres_url)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"submissions: {SUBMISSIONS} of {SUBMISSIONS} rows" in lines
    assert any(line.split() == ["submissions", str(SUBMISSIONS), str(SUBMISSIONS)] for line in lines)
    assert any(line.split() == ["addresses", "3,000", "3,000"] for line in lines)
    assert lines[-2].startswith(f"Copied sqlite:///{source} to ") and "every table the same" in lines[-2]
    assert "`assist gazetteer import`" in lines[-1]
    again = run("store", "copy", "--from", f"sqlite:///{source}", "--to", postgres_url)
    assert again.exit_code == 0 and "Went on with a copy interrupted" in again.output
    assert "0 rows written" in again.output


@pytest.mark.slow
def test_tables_that_differ_after_the_copy_are_named_and_the_command_fails(run, source, postgres_url):
    tables = [table for table, _ in copying.TABLES]
    with sqlite3.connect(source) as conn:
        batches = sum(1 for table in tables[:tables.index("session_events") + 1]
                      if conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    assert not copying.copy_store(f"sqlite:///{source}", postgres_url, batches=batches).finished
    with sqlite3.connect(source) as conn:  # a service still writing to the store being moved
        conn.execute("DELETE FROM session_events WHERE id = 1")
        conn.execute("INSERT INTO session_events (session, channel, device_id, at, event) "
                     "VALUES ('s', 'kiosk', 'k', '2026-11-24T10:00:00.000000Z', 'started')")
    result = run("store", "copy", "--from", f"sqlite:///{source}", "--to", postgres_url)
    assert result.exit_code == 1
    assert any(line.startswith("session_events") and line.endswith("DIFFERS") for line in result.output.splitlines())
    assert result.output.splitlines()[-1] == ("Error: 1 table(s) differ after the copy (session_events): was a "
                                              "service writing to --from meanwhile? Stop it and run the same "
                                              "command again.")


def test_a_bad_url_is_one_line_with_its_password_masked(run, tmp_path):
    result = run("store", "copy", "--from", f"sqlite:///{tmp_path / 'a.db'}", "--to", "mysql://ann:s3cret@db/assist")
    assert result.exit_code == 1 and "s3cret" not in result.output and "Traceback" not in result.output
    assert result.output.splitlines() == ["Error: --to 'mysql://ann:***@db/assist' is not a store's URL: write "
                                          "sqlite:///PATH or postgresql://USER@HOST/DATABASE."]


@pytest.mark.slow
def test_a_destination_holding_another_store_is_refused_in_one_line(run, source, settings, store):
    store.enqueue(draft(idempotency_key="theirs"))
    result = run("store", "copy", "--from", f"sqlite:///{source}", "--to", f"sqlite:///{settings.store_path}")
    assert result.exit_code == 1
    assert result.output.splitlines() == ["Error: --to already holds a store that is not this one (it is sealed "
                                          "with another key): copy into a new, empty database, or remove what it "
                                          "holds."]
