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
