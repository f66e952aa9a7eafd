"""The report's medians and 90th percentiles, worked out in SQL, agree with Python's statistics
module for any set of durations, on both timings and for each channel."""

from __future__ import annotations

import statistics
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.reporting.report import Period, build
from sync.store import db as db_module
from sync.store import iso

DAY = date(2026, 11, 24)
durations = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30)


def expected(seconds: list[int]) -> tuple[int, float, float]:
    p90 = statistics.quantiles(seconds, n=10, method="inclusive")[8] if len(seconds) > 1 else seconds[0]
    return len(seconds), statistics.median(seconds), p90


def write(path: Path, kiosk: list[int], sms: list[int], accepted: list[int]) -> None:
    """Sessions that took these many seconds to submit, and submissions accepted after these."""
    start = datetime(2026, 11, 24, 8, tzinfo=timezone.utc)
    rows, submissions = [], []
    for channel, spans in (("kiosk", kiosk), ("sms", sms)):
        for number, seconds in enumerate(spans):
            session, began = f"{channel}-{number}", start + timedelta(seconds=number)
            rows.append((session, channel, iso(began), "started", "en"))
            rows.append((session, channel, iso(began + timedelta(seconds=seconds)), "submitted", "en"))
    for number, seconds in enumerate(accepted):
        submissions.append((f"R{number}", f"k{number}", iso(start), iso(start + timedelta(seconds=seconds))))
    conn = db_module.connect(path).conn
    conn.executemany("INSERT INTO session_events (session, channel, device_id, at, event, language) "
                     "VALUES (?, ?, 'd', ?, ?, ?)", rows)
    conn.executemany("INSERT INTO submissions (reference, idempotency_key, channel, device_id, language, "
                     "catalogue_version, service_code, state, created_at, accepted_at, updated_at, next_attempt_at) "
                     "VALUES (?1, ?2, 'kiosk', 'd', 'en', 'v', 'pothole', 'accepted', ?3, ?4, ?3, ?3)", submissions)
    conn.close()


@pytest.mark.slow
@settings(max_examples=40, deadline=None)
@given(kiosk=durations, sms=durations, accepted=durations)
def test_medians_and_90th_percentiles_are_those_of_the_statistics_module(kiosk, sms, accepted):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.db"
        write(path, kiosk, sms, accepted)
        figures = build([("store", path)], Period(DAY, DAY))
    sections = {section.key: section for section in figures.sections}
    timed = {row.key: row.values for row in sections["time_to_complete"].rows}
    for group, seconds in (("all", kiosk + sms), ("kiosk", kiosk), ("sms", sms)):
        count, median, p90 = expected(seconds)
        assert timed[group][0] == count
        assert timed[group][1:] == pytest.approx((median, p90), abs=1e-3)
    acceptance = {row.key: row.values for row in sections["time_to_acceptance"].rows}
    count, median, p90 = expected(accepted)
    assert acceptance["all"][:2] == (count, count)
    assert acceptance["all"][2:] == pytest.approx((median, p90), abs=1e-3)
