"""Take-up events are written on every kiosk page, without an fsync of their own; a resident's
submission never loses its own."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from sync.store import db as db_module
from sync.store import events
from tests.helpers import draft

FULL, NORMAL = 2, 1


class Watched:
    """The store's connection, noting the `synchronous` setting in force at each COMMIT."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.commits: list[int] = []

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            self.commits.append(self.conn.execute("PRAGMA synchronous").fetchone()[0])
        return self.conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)


def watch(store) -> Watched:
    watched = Watched(store.db.conn)
    store.db.conn = watched
    return watched


def page(store, event=events.QUESTION) -> bool:
    return events.record(store, "visit-1", event, channel="kiosk", language="en", step="size")


def synchronous(store) -> int:
    return store.db.conn.execute("PRAGMA synchronous").fetchone()[0]


@pytest.mark.sqlite_only
def test_a_submission_is_committed_with_an_fsync_and_a_pages_event_without(store):
    watched = watch(store)
    store.enqueue(draft(idempotency_key="a"))
    assert page(store) and page(store, events.CHECK)
    store.enqueue(draft(idempotency_key="b"))
    assert watched.commits == [FULL, NORMAL, NORMAL, FULL]
    assert synchronous(store) == FULL
    assert [row[0] for row in store.db.conn.execute("SELECT event FROM session_events ORDER BY id")] == [
        "question", "check"]


@pytest.mark.sqlite_only
def test_an_event_that_cannot_be_written_still_leaves_the_connection_at_full(store):
    store.db.conn.execute("ALTER TABLE session_events RENAME TO session_events_gone")
    assert page(store) is False
    assert synchronous(store) == FULL
    watched = watch(store)
    store.enqueue(draft())
    assert watched.commits == [FULL]


@pytest.mark.sqlite_only
def test_an_event_inside_another_write_keeps_that_writes_fsync(store):
    watched = watch(store)
    with db_module.write(store.db):
        assert page(store)
        store.enqueue(draft())
    assert watched.commits == [FULL] and synchronous(store) == FULL


@pytest.mark.sqlite_only
def test_a_connection_set_to_normal_by_its_owner_is_left_at_normal(store):
    """The SMS bot commits conversation steps at NORMAL itself: an event puts back what it found."""
    store.db.conn.execute("PRAGMA synchronous = NORMAL")
    assert page(store)
    assert synchronous(store) == NORMAL
