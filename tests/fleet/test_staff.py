"""`assist fleet add-staff` and `remove-staff`, run as an operator runs them, on both engines."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone

import pytest

from fleet import staff
from sync.store import Store
from sync.store import db as db_module

PASSWORD = "correct horse battery"


def checked(*args) -> bool:
    """staff.check, which checks the hash off the service's event loop, from a plain test."""
    return asyncio.run(staff.check(*args))


def test_add_staff_asks_twice_and_keeps_only_an_argon2id_hash(council):
    result = council("fleet", "add-staff", "alex", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    store = Store.open(council.settings)
    try:
        rows = store.db.conn.execute("SELECT name, password_hash FROM fleet_staff").fetchall()
        assert [row[0] for row in rows] == ["alex"] and rows[0][1].startswith("$argon2id$")
        assert PASSWORD not in json.dumps(rows)
        now = datetime(2026, 12, 1, 11, tzinfo=timezone.utc)
        assert checked(store.db, "alex", PASSWORD, now) and not checked(store.db, "alex", "wrong one!!!", now)
    finally:
        store.close()


def test_a_mistyped_confirmation_a_short_password_and_a_name_taken_are_refused(council):
    mistyped = council("fleet", "add-staff", "alex", input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n")
    assert "do not match" in mistyped.output and mistyped.exit_code == 0
    short = council("fleet", "add-staff", "sam", input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.output
    taken = council("fleet", "add-staff", "alex", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert taken.exit_code == 1 and "already" in taken.output


def test_remove_staff_ends_the_account_and_its_sessions(council):
    council("fleet", "add-staff", "alex", input=f"{PASSWORD}\n{PASSWORD}\n")
    store = Store.open(council.settings)
    try:
        now = datetime(2026, 12, 1, 11, tzinfo=timezone.utc)
        session_id, _ = staff.start(store.db, "alex", now)
        assert council("fleet", "remove-staff", "alex").exit_code == 0
        assert staff.find(store.db, session_id, now) is None
        assert not checked(store.db, "alex", PASSWORD, now)
    finally:
        store.close()
    missing = council("fleet", "remove-staff", "alex")
    assert missing.exit_code == 1 and "no staff account" in missing.output


@pytest.mark.parametrize("failures", [4, 5])
def test_five_refusals_in_a_row_lock_the_account_for_15_minutes(store, failures):
    now = datetime(2026, 12, 1, 11, tzinfo=timezone.utc)
    staff.add(store.db, "alex", PASSWORD, now)
    for _ in range(failures - 1):
        assert not checked(store.db, "alex", "wrong password", now)
    if failures < staff.MAX_FAILURES:
        assert not checked(store.db, "alex", "wrong password", now)
        assert checked(store.db, "alex", PASSWORD, now)  # four in a row: not locked, and the count starts again
        return
    with pytest.raises(staff.LockedOut):
        checked(store.db, "alex", "wrong password", now)
    with pytest.raises(staff.LockedOut):
        checked(store.db, "alex", PASSWORD, now.replace(minute=14))  # the right one too, while locked
    assert checked(store.db, "alex", PASSWORD, now.replace(minute=15, second=1))


def test_an_account_left_at_five_refusals_by_an_attempt_that_never_finished_locks_once_not_for_ever(store):
    """The fifth guess's process killed mid-hash (out of memory, a restart) leaves five refusals and
    no lock. The next attempt locks the account: that lock must be kept, and must end."""
    now = datetime(2026, 12, 1, 11, tzinfo=timezone.utc)
    staff.add(store.db, "alex", PASSWORD, now)
    with db_module.write(store.db) as conn:
        conn.execute("UPDATE fleet_staff SET failures = ? WHERE name = 'alex'", (staff.MAX_FAILURES,))
    with pytest.raises(staff.LockedOut):
        checked(store.db, "alex", PASSWORD, now)
    assert store.db.conn.execute("SELECT locked_until FROM fleet_staff").fetchone()[0] is not None
    assert checked(store.db, "alex", PASSWORD, now.replace(minute=16))
