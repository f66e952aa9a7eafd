"""The take-up events a kiosk visit leaves in the store (sync/store/events.py): the steps a resident
reached, in order, where they gave up, and nothing they typed."""

from __future__ import annotations

import pytest

from kiosk import messages
from tests.kiosk.kiosk_support import SECRET_PLACE, choose, idle, keys, type_in

#: Driven through a Pilot: seconds a test on a shared machine.
pytestmark = pytest.mark.slow


def events(store) -> list[tuple]:
    return store.db.conn.execute("SELECT event, service_code, step, language, channel FROM session_events "
                                 "ORDER BY id").fetchall()


async def report_a_missed_bin_up_to_the_date(pilot) -> None:
    await choose(pilot, "en")
    await keys(pilot, "enter")
    await choose(pilot, "report")
    await choose(pilot, "Bins and recycling")
    await choose(pilot, "missed_bin")
    await pilot.click("#describe-button")
    await type_in(pilot, SECRET_PLACE, "enter")
    await keys(pilot, "2", "enter")


async def test_a_finished_visit_records_each_step_once_in_order(make_app, store):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await report_a_missed_bin_up_to_the_date(pilot)
        await type_in(pilot, "23/11/2026", "enter")
        await keys(pilot, "enter")
        await choose(pilot, "no")
        await keys(pilot, "enter")
    recorded = events(store)
    assert [row[0] for row in recorded] == ["started", "service", "question", "question", "question", "question",
                                            "question", "check", "submitted"]
    assert [row[2] for row in recorded if row[0] == "question"] == [
        "location", "attribute.bin_type", "attribute.collection_date", "description", "contact"]
    assert {row[1] for row in recorded[1:]} == {"missed_bin"} and {row[4] for row in recorded} == {"kiosk"}
    assert len(set(store.db.conn.execute("SELECT session FROM session_events").fetchall())) == 1


async def test_walking_away_records_where_the_resident_gave_up_and_nothing_they_typed(make_app, store, monotonic,
                                                                                     settings):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await report_a_missed_bin_up_to_the_date(pilot)
        await idle(pilot, monotonic, settings.kiosk.timeout_seconds)
        await idle(pilot, monotonic, settings.kiosk.warning_seconds)
    recorded = events(store)
    assert recorded[-2][:3] == ("question", "missed_bin", "attribute.collection_date")
    assert recorded[-1][0] == "abandoned" and recorded[-1][2] == "timeout"
    everything = " ".join(str(value) for row in store.db.conn.execute("SELECT * FROM session_events") for value in row)
    assert SECRET_PLACE not in everything and "Market" not in everything


async def test_the_next_resident_is_a_new_session(make_app, store):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "cy")
        app.post_message(messages.StartAgain())
        await pilot.pause()
        await choose(pilot, "en")
    rows = store.db.conn.execute("SELECT session, event, language, step FROM session_events ORDER BY id").fetchall()
    assert [(row[1], row[2]) for row in rows] == [("started", "cy"), ("abandoned", "cy"), ("started", "en")]
    assert rows[1][3] == "restart" and rows[0][0] == rows[1][0] != rows[2][0]


async def test_a_status_check_and_a_language_changed_on_the_first_page_are_recorded(make_app, store):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, "en")
        await keys(pilot, "escape")
        await choose(pilot, "cy")
        await keys(pilot, "enter")
        await choose(pilot, "status")
    assert [(row[0], row[3]) for row in events(store)] == [("started", "en"), ("language", "cy"), ("status", "cy")]
