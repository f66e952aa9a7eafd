"""Visits only to check on a request, as the take-up report counts them (issue 17): a resident who
checks a request and goes back to the first page leaves the kiosk to the next person, so what
follows there is another visit, even in the same language."""

from __future__ import annotations

import csv

import pytest

from sync.store import events
from tests.kiosk.kiosk_support import choose, keys, page
from tests.kiosk.test_kiosk_journeys import start


async def back_to_the_first_page(pilot) -> None:
    while page(pilot.app) != "LanguageScreen":
        await keys(pilot, "escape")


def status_checks(run, tmp_path, store_path) -> str:
    out, table = tmp_path / "report.html", tmp_path / "report.csv"
    result = run("report", "--since", "2026-11-01", "--until", "2026-11-30", "--store", str(store_path),
                 "--out", str(out), "--csv", str(table))
    assert result.exit_code == 0, result.output
    with table.open(newline="", encoding="utf-8") as handle:
        return next(row["value"] for row in csv.DictReader(handle)
                    if (row["section"], row["measure"]) == ("summary", "status_checks"))


@pytest.mark.slow
async def test_two_residents_checking_requests_one_after_the_other_are_two_visits(make_app, store, settings, run,
                                                                                  tmp_path):
    app = make_app()
    async with app.run_test() as pilot:
        await start(pilot, "en", "status")  # the first resident checks on a request
        assert page(app) == "ReferenceScreen"
        await back_to_the_first_page(pilot)
        await start(pilot, "en", "status")  # the next one, in the same language
        await back_to_the_first_page(pilot)
        await start(pilot, "cy", "report")  # and a third begins a report in Welsh and leaves it
        await choose(pilot, "Bins and recycling")
        await app.restart("finish")
    kinds = [kind for (kind,) in store.db.conn.execute("SELECT event FROM session_events ORDER BY id")]
    assert kinds == [events.STARTED, events.STATUS, events.LANGUAGE, events.STATUS, events.LANGUAGE,
                     events.ABANDONED]
    assert status_checks(run, tmp_path, settings.store_path) == "2"
