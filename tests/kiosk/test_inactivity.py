"""The inactivity clock's rules (WCAG 2.2.1) without a terminal: the warning after the timeout, the
countdown, "I need more time" as often as wanted, the first page never timing out, and the error
page going back to the start by itself."""

from __future__ import annotations

from kiosk.inactivity import ERROR_RETURN_SECONDS, Due, Inactivity
from tests.kiosk.kiosk_support import Monotonic


def test_the_warning_comes_after_the_timeout_counts_down_and_then_times_out(monotonic):
    inactivity = Inactivity(monotonic, 120, 60)
    monotonic.advance(119)
    assert inactivity.due(active=True) is None
    monotonic.advance(1)
    assert inactivity.due(active=True) is Due.WARN and inactivity.remaining == 60
    monotonic.advance(39.5)
    assert inactivity.due(active=True) is Due.COUNTDOWN and inactivity.remaining == 21
    monotonic.advance(20.5)
    assert inactivity.due(active=True) is Due.TIMED_OUT
    inactivity.more_time()  # what the wipe does: the next resident has the full time
    assert inactivity.due(active=True) is None


def test_more_time_gives_the_full_time_again_as_often_as_asked(monotonic):
    inactivity = Inactivity(monotonic, 120, 60)
    for _ in range(10):
        monotonic.advance(120)
        assert inactivity.due(active=True) is Due.WARN
        monotonic.advance(59)
        assert inactivity.due(active=True) is Due.COUNTDOWN and inactivity.remaining == 1
        inactivity.more_time()
        monotonic.advance(119)
        assert inactivity.due(active=True) is None
        monotonic.advance(-119)


def test_input_before_the_timeout_keeps_the_visit_going_and_the_first_page_never_times_out():
    clock = Monotonic()
    inactivity = Inactivity(clock, 120, 60)
    for _ in range(5):
        clock.advance(115)
        inactivity.touched()
        assert inactivity.due(active=True) is None
    clock.advance(1200)
    assert inactivity.due(active=False) is None


def test_the_error_page_goes_back_to_the_start_by_itself(monotonic):
    inactivity = Inactivity(monotonic, 120, 60)
    inactivity.error_shown()
    monotonic.advance(ERROR_RETURN_SECONDS - 1)
    assert inactivity.due(active=True) is None
    monotonic.advance(1)
    assert inactivity.due(active=True) is Due.ERROR_OVER
