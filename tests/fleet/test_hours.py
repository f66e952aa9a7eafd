"""Opening hours as an operator writes them, and whether a library is open at a moment."""

from datetime import datetime, timezone

import pytest

from fleet.hours import HoursError, opened_at, parse


def test_days_ranges_and_several_spans_a_day():
    week = parse("Mon-Fri 09:00-17:30; Sat 10:00-12:30, 13:30-16:00")
    assert week["mon"] == week["fri"] == [["09:00", "17:30"]]
    assert week["sat"] == [["10:00", "12:30"], ["13:30", "16:00"]]
    assert "sun" not in week  # not named: closed


def test_hours_as_a_library_s_web_page_writes_them_are_read_alike():
    """Copied from a council's page: en dashes, full or shortened day names, 9.30 for 09:30."""
    week = parse("Mon-Fri 09:30-17:00; Sat 10:00-16:00")
    for written in ("Monday–Friday 9.30–17.00; Saturday 10.00 – 16.00",
                    "mon — fri 9:30-17:00;  SAT 10:00-16:00", "Mon-Fri 09:30-17:00; Sat 10:00-16:00;",
                    "Tues-Fri 09:30-17:00; Mon 09:30-17:00; Sat 10:00-16:00"):
        assert parse(written) == week, written


@pytest.mark.parametrize("text, says", [
    ("", "no opening hours"),
    ("Mon-Fri", "expected days and times"),
    ("Mon-Fry 09:00-17:00", "'fry' is not a day"),
    ("Fri-Mon 09:00-17:00", "backwards"),
    ("Mon 17:00-09:00", "closes before it opens"),
    ("Mon 09:00-25:00", "not a time of day"),
    ("Mon 9-5", "not a span of time"),
    ("Mon-Fri 09:00-17:00; Fri 18:00-20:00", "Fri is given twice"),
    ("Mon 09:00-13:00, 12:30-17:00", "12:30-17:00 overlaps 09:00-13:00"),
    ("Mo-Fr 09:00-17:00", "'mo' is not a day"),
])
def test_hours_that_cannot_be_read_are_refused_naming_the_part(text, says):
    with pytest.raises(HoursError, match=says):
        parse(text)


def test_open_is_read_in_the_fleets_time_zone_summer_and_winter():
    week = parse("Mon-Fri 09:00-17:30")
    # 08:30 UTC in July is 09:30 in London (BST): open; in December 08:30 UTC is 08:30: closed.
    assert opened_at(week, "Europe/London", datetime(2026, 7, 7, 8, 30, tzinfo=timezone.utc)) is not None
    assert opened_at(week, "Europe/London", datetime(2026, 12, 1, 8, 30, tzinfo=timezone.utc)) is None
    assert opened_at(week, "Europe/London", datetime(2026, 12, 5, 11, 0, tzinfo=timezone.utc)) is None  # a Saturday
    assert opened_at(week, "Europe/London", datetime(2026, 12, 1, 17, 30, tzinfo=timezone.utc)) is None  # closing


def test_the_moment_a_library_opened_is_its_span_s_start_in_its_time_zone():
    week = parse("Mon-Fri 09:00-12:30, 13:30-17:30; Sat 00:00-24:00; Sun 00:00-18:00")
    tuesday = datetime(2026, 7, 7, 14, 0, tzinfo=timezone.utc)  # 15:00 in London (BST)
    assert opened_at(week, "Europe/London", tuesday) == datetime(2026, 7, 7, 12, 30, tzinfo=timezone.utc)
    assert opened_at(week, "Europe/London", datetime(2026, 7, 7, 11, 45, tzinfo=timezone.utc)) is None  # lunch
    # open through the night from Saturday into Sunday: since Saturday's opening, not Sunday's midnight
    sunday = datetime(2026, 12, 6, 1, 0, tzinfo=timezone.utc)
    assert opened_at(week, "Europe/London", sunday) == datetime(2026, 12, 5, 0, 0, tzinfo=timezone.utc)
