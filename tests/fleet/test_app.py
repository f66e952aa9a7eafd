"""The fleet service's API over loopback HTTP: enrolment, heartbeats, events, and every bad input."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from fleet import heartbeats
from fleet.app import MAX_EVENTS_BYTES, MAX_HEARTBEAT_BYTES
from tests.fleet.fleet_support import event, heartbeat_body


def test_a_code_is_exchanged_once_for_a_token_the_service_keeps_only_as_a_hash(fleet):
    code = fleet.add_kiosk("kiosk-1")
    token = fleet.enrol("kiosk-1", code.lower().replace("-", " "))  # as typed, in any case and spacing
    stored = json.dumps(fleet.rows("SELECT * FROM fleet_kiosks"))
    assert token not in stored and code not in stored
    again = fleet.post("/fleet/enrol", {"device_id": "kiosk-1", "code": code})
    assert again.status_code == 401 and "used already" in again.json()["error"]


def test_a_code_past_its_24_hours_or_for_another_kiosk_is_refused(fleet, fleet_clock):
    code = fleet.add_kiosk("kiosk-1")
    other = fleet.post("/fleet/enrol", {"device_id": "kiosk-2", "code": code})
    assert other.status_code == 401 and other.json()["error"] == "no such enrolment code for this device id"
    fleet_clock.advance(hours=24, seconds=1)
    late = fleet.post("/fleet/enrol", {"device_id": "kiosk-1", "code": code})
    assert late.status_code == 401 and "expired" in late.json()["error"]


def test_a_heartbeat_is_kept_with_the_kiosks_clock_error(fleet, kiosk, fleet_clock):
    device, token = kiosk
    answer = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock() + timedelta(seconds=90)),
                        device=device, token=token)
    assert answer.status_code == 200 and answer.json()["clock_skew_seconds"] == 90
    assert "date" in answer.headers  # the kiosk reads its clock offset from it
    [(received_at, skew, body)] = fleet.rows("SELECT received_at, skew_seconds, body FROM fleet_heartbeats")
    assert skew == 90 and json.loads(body)["outbox"] == {"queued": 0, "accepted": 3}


@pytest.mark.parametrize("credentials, reason", [
    ({"token": "not-the-token"}, "wrong token"),
    ({}, "no bearer token"),
    ({"device": "kiosk-2"}, "unknown device"),
])
def test_a_wrong_token_is_401_and_logged_with_the_device_id_only(fleet, kiosk, fleet_clock, caplog, credentials,
                                                                   reason):
    device, token = kiosk
    sent = {"device": device, "token": token, **credentials}
    if not credentials:
        sent.pop("token")
    with caplog.at_level(logging.WARNING, logger="fleet"):
        answer = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock()), **sent)
    assert answer.status_code == 401
    assert f"from device {sent['device']}: {reason}" in caplog.text
    assert token not in caplog.text and "not-the-token" not in caplog.text
    assert fleet.rows("SELECT count(*) FROM fleet_heartbeats") == [(0,)]


def test_a_revoked_token_and_an_old_one_after_a_new_enrolment_are_refused(fleet, kiosk, fleet_clock, caplog):
    from fleet import registry

    device, old = kiosk
    registry.revoke(fleet.store.db, device, fleet_clock())
    with caplog.at_level(logging.WARNING, logger="fleet"):
        revoked = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock()), device=device, token=old)
    assert revoked.status_code == 401 and "kiosk-1: revoked" in caplog.text
    # what the kiosk's operator reads in `assist fleet status`: why, and what to do
    assert revoked.json()["error"] == ("the council revoked this kiosk's enrolment: ask it for a new code "
                                       "(assist fleet add-kiosk) and enrol again (assist fleet enrol)")
    new = fleet.enrol(device, fleet.add_kiosk(device))
    replayed = fleet.post("/fleet/events", {"version": 1, "events": []}, device=device, token=old)
    assert replayed.status_code == 401 and replayed.json()["error"].startswith(
        "this kiosk's token is not one the fleet service holds for kiosk-1: check kiosk.device_id")
    # a device id the service does not know is told the same: no caller can list the ones it knows
    unknown = fleet.post("/fleet/events", {"version": 1, "events": []}, device="kiosk-9", token=old)
    assert unknown.json()["error"] == replayed.json()["error"].replace("kiosk-1", "kiosk-9")
    assert fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock()), device=device,
                      token=new).status_code == 200


def test_a_heartbeat_from_the_future_or_the_past_is_refused_and_one_a_little_off_is_flagged(fleet, kiosk,
                                                                                           fleet_clock):
    device, token = kiosk
    for off, says in ((timedelta(days=2), "48 hours ahead of"), (-timedelta(days=3), "72 hours behind")):
        answer = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock() + off), device=device,
                            token=token)
        assert answer.status_code == 400 and says in answer.json()["error"]
    assert fleet.rows("SELECT count(*) FROM fleet_heartbeats") == [(0,)]
    fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock() - timedelta(minutes=7)), device=device,
               token=token)
    from fleet.overview import overview

    [row] = overview(fleet.store.db, fleet.settings, fleet_clock())
    assert "clock 7 minutes behind" in row["flags"]


def test_oversized_bodies_are_413(fleet, kiosk, fleet_clock):
    device, token = kiosk
    padding = "x" * MAX_HEARTBEAT_BYTES
    answer = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock(), version=padding), device=device,
                        token=token)
    assert answer.status_code == 413

    def streamed():  # no Content-Length: counted as it arrives
        yield b'{"version": 1, "events": ['
        for _ in range(MAX_EVENTS_BYTES // 1000 + 1):
            yield b" " * 1000
        yield b"]}"

    answer = fleet.post("/fleet/events", content=streamed(), device=device, token=token)
    assert answer.status_code == 413


@pytest.mark.parametrize("content, says", [
    (b"{not json", "not well-formed JSON"),
    (b'{"version": NaN, "events": []}', "not well-formed JSON"),
    (b"[]", "expected an object"),
    (b'{"events": []}', "missing field 'version'"),
])
def test_malformed_json_is_400_with_its_reason(fleet, kiosk, content, says):
    device, token = kiosk
    answer = fleet.post("/fleet/events", content=content, device=device, token=token,
                        headers={"content-type": "application/json"})
    assert answer.status_code == 400 and says in answer.json()["error"]


def test_numbers_beyond_reason_are_400_and_metrics_go_on(fleet, kiosk, fleet_clock):
    """A kiosk (a bug in some version) sending a count of 10**400 or an offset of 1e999 is refused:
    kept, it would break every scrape of /metrics until that kiosk spoke again."""
    device, token = kiosk
    huge = fleet.post("/fleet/heartbeat", content=json.dumps(heartbeat_body(device, fleet_clock())).replace(
        '"queued": 0', '"queued": 1' + "0" * 400).encode(), device=device, token=token,
        headers={"Content-Type": "application/json"})
    assert huge.status_code == 400 and huge.json()["error"].startswith("heartbeat.outbox.queued: expected a whole")
    endless = fleet.post("/fleet/heartbeat", content=json.dumps(heartbeat_body(device, fleet_clock())).replace(
        '"clock_offset_seconds": 0.4', '"clock_offset_seconds": 1e999').encode(), device=device, token=token,
        headers={"Content-Type": "application/json"})
    assert endless.status_code == 400 and endless.json()["error"].startswith("heartbeat.clock_offset_seconds:")
    assert fleet.rows("SELECT count(*) FROM fleet_heartbeats") == [(0,)]


def test_an_unknown_field_is_400_naming_it(fleet, kiosk, fleet_clock):
    device, token = kiosk
    answer = fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock(), resident_name="Ann"),
                        device=device, token=token)
    assert answer.status_code == 400
    assert answer.json()["error"] == "heartbeat: unknown field 'resident_name' (not in the fleet's schema)"
    nested = heartbeat_body(device, fleet_clock())
    nested["backoffices"]["default"]["request_body"] = "..."
    answer = fleet.post("/fleet/heartbeat", nested, device=device, token=token)
    assert answer.status_code == 400 and "heartbeat.backoffices.default: unknown field 'request_body'" in \
        answer.json()["error"]
    answer = fleet.post("/fleet/events", {"version": 1, "events": [event("e1", description="pothole")]},
                        device=device, token=token)
    assert answer.status_code == 400 and answer.json()["error"] == \
        "batch.events[0]: unknown field 'description' (not in the fleet's schema)"
    assert fleet.rows("SELECT count(*) FROM fleet_events") == [(0,)]


def test_a_heartbeat_naming_another_kiosk_is_refused(fleet, kiosk, fleet_clock):
    device, token = kiosk
    answer = fleet.post("/fleet/heartbeat", heartbeat_body("kiosk-9", fleet_clock()), device=device, token=token)
    assert answer.status_code == 400 and "not the device id the token belongs to" in answer.json()["error"]


def test_events_are_kept_once_per_device_store_and_id_and_unknown_kinds_counted(fleet, kiosk):
    device, token = kiosk
    batch = {"version": 1, "events": [event("e1"), event("e2", kind="submitted", service_code="pothole"),
                                      event("s1", kind="submission", at=None, session=None, language=None,
                                            created_at="2026-12-01T10:00:00.000000Z",
                                            accepted_at="2026-12-01T10:05:00.000000Z", outcome="accepted"),
                                      event("e3", kind="photo_taken")]}
    first = fleet.post("/fleet/events", batch, device=device, token=token)
    assert first.json() == {"stored": 4, "duplicates": 0, "unknown": 1}
    again = fleet.post("/fleet/events", batch, device=device, token=token)
    assert again.json() == {"stored": 0, "duplicates": 4, "unknown": 0}
    rebuilt = {"version": 2, "events": [event("e1", store_id="store-b")]}  # a new store numbers from 1 again
    assert fleet.post("/fleet/events", rebuilt, device=device, token=token).json()["stored"] == 1
    kinds = fleet.rows("SELECT kind, known, version FROM fleet_events ORDER BY id")
    assert kinds == [("started", 1, 1), ("submitted", 1, 1), ("submission", 1, 1), ("photo_taken", 0, 1),
                     ("started", 1, 2)]


def test_old_heartbeats_are_purged_after_30_days(fleet, kiosk, fleet_clock):
    device, token = kiosk
    fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock()), device=device, token=token)
    fleet_clock.advance(days=30, minutes=1)
    fleet.post("/fleet/heartbeat", heartbeat_body(device, fleet_clock()), device=device, token=token)
    assert fleet.rows("SELECT count(*) FROM fleet_heartbeats") == [(1,)]
    assert heartbeats.latest(fleet.store.db, device)[0].startswith("2026-12-31")


def test_nothing_is_readable_or_writable_by_other_methods(fleet):
    assert fleet.post("/fleet/enrol", content=b"").status_code == 400
    import httpx

    assert httpx.get(fleet.url + "/fleet/heartbeat").status_code == 405
    assert httpx.get(fleet.url + "/").status_code == 404


@pytest.mark.slow
def test_on_postgresql_heartbeats_and_events_are_kept_once_too(tmp_path, postgres, fleet_clock):
    from tests.fleet.fleet_support import start_fleet
    from tests.postgres import store_env

    (tmp_path / "pg").mkdir()
    peer = start_fleet(tmp_path / "pg", clock=fleet_clock, store_env=store_env("postgresql", tmp_path / "pg", postgres))
    try:
        token = peer.enrol("kiosk-1", peer.add_kiosk("kiosk-1"))
        assert peer.post("/fleet/heartbeat", heartbeat_body("kiosk-1", fleet_clock()), device="kiosk-1",
                         token=token).status_code == 200
        batch = {"version": 1, "events": [event("e1"), event("e2", kind="photo_taken")]}
        assert peer.post("/fleet/events", batch, device="kiosk-1", token=token).json() == {
            "stored": 2, "duplicates": 0, "unknown": 1}
        assert peer.post("/fleet/events", batch, device="kiosk-1", token=token).json() == {
            "stored": 0, "duplicates": 2, "unknown": 0}
        assert peer.post("/fleet/heartbeat", heartbeat_body("kiosk-1", fleet_clock()), device="kiosk-1",
                         token="stolen").status_code == 401
    finally:
        peer.stop()
