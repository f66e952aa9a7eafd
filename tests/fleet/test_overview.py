"""What `assist fleet list` flags: a silent kiosk in opening hours, a stuck queue, a failed check,
a library name the kiosk does not share; a healthy one and one silent at night are not flagged."""

from __future__ import annotations

from fleet.overview import overview
from tests.fleet.fleet_support import heartbeat_body


def _flags(fleet, clock):
    return {row["device_id"]: row["flags"] for row in overview(fleet.store.db, fleet.settings, clock())}


def test_three_kiosks_silent_stuck_and_healthy(fleet, fleet_clock):
    tokens = {device: fleet.enrol(device, fleet.add_kiosk(device)) for device in ("silent", "stuck", "healthy")}
    fleet_clock.advance(minutes=5)
    fleet.post("/fleet/heartbeat", heartbeat_body("silent", fleet_clock()), device="silent", token=tokens["silent"])
    fleet_clock.advance(minutes=40)  # 11:45
    fleet.post("/fleet/heartbeat", heartbeat_body("stuck", fleet_clock(), oldest_queued_seconds=3 * 3600,
                                                  outbox={"queued": 4}, checks={"key": False, "store": True},
                                                  library_name="Old Town Library"),
               device="stuck", token=tokens["stuck"])
    fleet.post("/fleet/heartbeat", heartbeat_body("healthy", fleet_clock()), device="healthy", token=tokens["healthy"])
    flags = _flags(fleet, fleet_clock)
    assert flags["silent"] == ["silent for over 30 minutes in opening hours"]
    assert flags["stuck"] == ["a request queued for over 120 minutes", "failed check: key",
                              "the kiosk calls itself 'Old Town Library'"]
    assert flags["healthy"] == []
    fleet_clock.advance(hours=9, minutes=15)  # 21:00 on a Tuesday: the library is closed, silence is expected
    assert _flags(fleet, fleet_clock)["healthy"] == []
    fleet_clock.advance(hours=11, minutes=1)  # Wednesday 08:01: still closed
    assert _flags(fleet, fleet_clock)["healthy"] == []
    fleet_clock.advance(hours=1)  # 09:01: open a minute, and a kiosk switched off overnight is starting up
    assert _flags(fleet, fleet_clock)["healthy"] == []
    fleet_clock.advance(minutes=30)  # 09:31: silent for the first half hour of opening
    assert _flags(fleet, fleet_clock)["healthy"] == ["silent for over 30 minutes in opening hours"]


def test_a_kiosk_enrolled_moments_ago_is_not_silent_until_its_half_hour_is_up(fleet, fleet_clock):
    fleet.enrol("new", fleet.add_kiosk("new"))
    fleet_clock.advance(minutes=1)
    assert _flags(fleet, fleet_clock)["new"] == []
    fleet_clock.advance(minutes=30)
    assert _flags(fleet, fleet_clock)["new"] == ["silent for over 30 minutes in opening hours"]


def test_the_list_command_shows_the_flags(fleet, fleet_clock, run, tmp_path):
    fleet.enrol("kiosk-1", fleet.add_kiosk("kiosk-1"))
    result = run("fleet", "list", extra_env={"ASSIST_STORE__PATH": str(tmp_path / "council" / "assist.db")})
    assert "kiosk-1  Central Library  [enrolled]  last heard: never" in result.output


def test_a_kiosk_whose_heartbeats_are_refused_says_why_rather_than_seeming_silent(fleet, fleet_clock):
    """A kiosk booted with a dead clock battery (two days ahead), or a newer version sending a field
    this service does not know: its heartbeats are refused, and without this it would only seem silent."""
    from datetime import timedelta

    token = fleet.enrol("adrift", fleet.add_kiosk("adrift"))
    ahead = fleet.post("/fleet/heartbeat", heartbeat_body("adrift", fleet_clock() + timedelta(days=2)),
                       device="adrift", token=token)
    assert ahead.status_code == 400
    fleet_clock.advance(minutes=45)
    assert _flags(fleet, fleet_clock)["adrift"] == [
        "silent for over 30 minutes in opening hours",
        "its heartbeat was refused: heartbeat.sent_at: 48 hours ahead of the fleet service's clock; "
        "check the kiosk's clock"]
    fleet.post("/fleet/heartbeat", heartbeat_body("adrift", fleet_clock()), device="adrift", token=token)
    assert _flags(fleet, fleet_clock)["adrift"] == []  # heard since: the refusal is history
    fleet.post("/fleet/heartbeat", {"device_id": "adrift"}, device="adrift", token="not its token")
    assert _flags(fleet, fleet_clock)["adrift"] == []  # a request its token did not prove is not the kiosk's
