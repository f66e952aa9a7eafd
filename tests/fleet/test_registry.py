"""`assist fleet add-kiosk`, `revoke` and `list`, run as an operator runs them, on both engines."""

from __future__ import annotations

import json
import re

import pytest

from fleet import registry
from sync.store import Store
from tests.fleet.fleet_support import event, heartbeat_body
from tests.sync.reporting.test_report import report_of

CODE = re.compile(r"\b([A-Z2-9]{4}(?:-[A-Z2-9]{4}){4})\b")


def test_add_kiosk_prints_a_one_time_code_and_keeps_only_its_hash(council):
    result = council("fleet", "add-kiosk", "central-1", "--library", "Central Library",
                     "--hours", "Mon-Fri 09:00-17:30; Sat 10:00-16:00")
    assert result.exit_code == 0, result.output
    code = CODE.search(result.output).group(1)
    store = Store.open(council.settings)
    try:
        row = store.db.conn.execute("SELECT code_hash, library, hours_text, timezone, code_expires_at "
                                    "FROM fleet_kiosks").fetchone()
        assert row[0] == registry.digest(code.replace("-", "")) and code not in json.dumps(row)
        assert row[1:4] == ("Central Library", "Mon-Fri 09:00-17:30; Sat 10:00-16:00", "Europe/London")
    finally:
        store.close()
    listed = json.loads(council("fleet", "list", "--json").output)
    assert [(k["device_id"], k["library"], k["state"]) for k in listed] == [
        ("central-1", "Central Library", "waiting for enrolment")]
    assert code not in council("fleet", "list").output


def test_bad_hours_a_bad_device_id_and_a_kiosk_already_enrolled_are_refused(council):
    bad = council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon-Fri 9 till 5")
    assert bad.exit_code == 1 and "'9 till 5' is not a span of time" in bad.output and "Traceback" not in bad.output
    bad = council("fleet", "add-kiosk", "central 1; drop", "--library", "Central", "--hours", "Mon 09:00-17:00")
    assert bad.exit_code == 1 and "is not a device id" in bad.output
    assert council("fleet", "list", "--json").output.strip() == "[]"

    code = CODE.search(council("fleet", "add-kiosk", "central-1", "--library", "Central",
                               "--hours", "Mon 09:00-17:00").output).group(1)
    store = Store.open(council.settings)
    try:
        registry.enrol(store.db, "central-1", code, store.clock())
    finally:
        store.close()
    again = council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon 09:00-17:00")
    assert again.exit_code == 1 and "revoke central-1" in again.output


def test_revoke_ends_a_kiosk_and_a_new_code_may_follow(council):
    council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon 09:00-17:00")
    assert council("fleet", "revoke", "central-1").exit_code == 0
    assert json.loads(council("fleet", "list", "--json").output)[0]["state"] == "revoked"
    missing = council("fleet", "revoke", "central-1")
    assert missing.exit_code == 1 and "no kiosk central-1 in use" in missing.output
    again = council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon 09:00-17:00")
    assert again.exit_code == 0 and CODE.search(again.output)


def test_a_time_zone_that_does_not_exist_is_refused(run):
    bad = run("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon 09:00-17:00",
              extra_env={"ASSIST_FLEET__TIMEZONE": "Europe/Brackenford"})
    assert bad.exit_code == 1 and "'Europe/Brackenford' is not a time zone" in bad.output


def enrol_directly(council, device_id: str, code: str) -> str:
    """The kiosk's side of enrolment, done on the council's store (its token)."""
    store = Store.open(council.settings)
    try:
        return registry.enrol(store.db, device_id, code, store.clock())
    finally:
        store.close()


def test_adding_a_kiosk_waiting_for_enrolment_again_says_its_first_code_no_longer_works(council):
    first = CODE.search(council("fleet", "add-kiosk", "central-1", "--library", "Central",
                                "--hours", "Mon 09:00-17:00").output).group(1)
    again = council("fleet", "add-kiosk", "central-1", "--library", "Central Library", "--hours", "Tue 09:00-17:00")
    assert again.exit_code == 0
    assert "a new code replaces the one given before, which no longer works" in " ".join(again.output.split())
    second = CODE.search(again.output).group(1)
    with pytest.raises(registry.Refused, match="no such enrolment code"):
        enrol_directly(council, "central-1", first)
    assert enrol_directly(council, "central-1", second)
    council("fleet", "revoke", "central-1")
    renewed = council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon 09:00-17:00")
    assert renewed.exit_code == 0 and "replaces" not in renewed.output  # a revoked kiosk had no code waiting


def test_update_kiosk_changes_the_hours_and_library_and_leaves_the_enrolment_alone(council):
    code = CODE.search(council("fleet", "add-kiosk", "central-1", "--library", "Central",
                               "--hours", "Mon-Fri 09:00-17:30").output).group(1)
    token = enrol_directly(council, "central-1", code)
    refused = council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon-Fri 10:00-16:00")
    assert refused.exit_code == 1 and "assist fleet update-kiosk central-1" in refused.output

    summer = council("fleet", "update-kiosk", "central-1", "--hours", "Mon-Fri 10:00-16:00; Sat 10:00-13:00")
    assert summer.exit_code == 0, summer.output
    assert "Mon-Fri 10:00-16:00; Sat 10:00-13:00 (Europe/London)" in summer.output and "(enrolled)" in summer.output
    moved = council("fleet", "update-kiosk", "central-1", "--library", "Central Library (temporary site)")
    assert moved.exit_code == 0, moved.output
    [kiosk] = json.loads(council("fleet", "list", "--json").output)
    assert (kiosk["library"], kiosk["hours"], kiosk["state"]) == (
        "Central Library (temporary site)", "Mon-Fri 10:00-16:00; Sat 10:00-13:00", "enrolled")
    store = Store.open(council.settings)
    try:
        assert registry.authenticate(store.db, "central-1", token) is None  # its token still speaks for it
        week = registry.kiosk(store.db, "central-1", store.clock()).week  # what its flags are judged by
        assert (week["mon"], week["sat"]) == ([["10:00", "16:00"]], [["10:00", "13:00"]])
    finally:
        store.close()


def test_update_kiosk_refuses_an_unknown_kiosk_bad_hours_and_nothing_to_change(council):
    council("fleet", "add-kiosk", "central-1", "--library", "Central", "--hours", "Mon 09:00-17:00")
    unknown = council("fleet", "update-kiosk", "centrall-1", "--hours", "Mon 10:00-16:00")
    assert unknown.exit_code == 1 and "no kiosk centrall-1 (`assist fleet list` shows them)" in unknown.output
    bad = council("fleet", "update-kiosk", "central-1", "--library", "Elsewhere", "--hours", "Mon 10 till 4")
    assert bad.exit_code == 1 and "'10 till 4' is not a span of time" in bad.output and "Traceback" not in bad.output
    empty = council("fleet", "update-kiosk", "central-1", "--library", "  ")
    assert empty.exit_code == 1 and "the library's name must be given" in empty.output
    nothing = council("fleet", "update-kiosk", "central-1")
    assert nothing.exit_code == 1 and "nothing to change" in nothing.output
    [kiosk] = json.loads(council("fleet", "list", "--json").output)
    assert (kiosk["library"], kiosk["hours"]) == ("Central", "Mon 09:00-17:00")  # all or nothing


def test_update_kiosk_keeps_a_waiting_kiosks_code_and_reads_hours_in_the_fleets_time_zone(run, settings):
    code = CODE.search(run("fleet", "add-kiosk", "central-1", "--library", "Central",
                           "--hours", "Mon 09:00-17:00").output).group(1)
    dublin = {"ASSIST_FLEET__TIMEZONE": "Europe/Dublin"}
    assert run("fleet", "update-kiosk", "central-1", "--hours", "Mon 10:00-16:00", extra_env=dublin).exit_code == 0
    bad_zone = run("fleet", "update-kiosk", "central-1", "--hours", "Mon 10:00-16:00",
                   extra_env={"ASSIST_FLEET__TIMEZONE": "Europe/Brackenford"})
    assert bad_zone.exit_code == 1 and "'Europe/Brackenford' is not a time zone" in bad_zone.output
    listed = run("fleet", "list", "--json").output
    assert json.loads(listed)[0]["state"] == "waiting for enrolment"
    assert "Mon 10:00-16:00 (Europe/Dublin)" in run("fleet", "update-kiosk", "central-1", "--library", "Central",
                                                    extra_env=dublin).output
    store = Store.open(settings)
    try:
        assert registry.enrol(store.db, "central-1", code, store.clock())  # the code given at first still works
    finally:
        store.close()


def test_remove_kiosk_takes_one_not_in_use_and_refuses_one_enrolled(council):
    council("fleet", "add-kiosk", "mistake-1", "--library", "Central", "--hours", "Mon 09:00-17:00")
    code = CODE.search(council("fleet", "add-kiosk", "central-1", "--library", "Central",
                               "--hours", "Mon 09:00-17:00").output).group(1)
    enrol_directly(council, "central-1", code)
    refused = council("fleet", "remove-kiosk", "central-1")
    assert refused.exit_code == 1 and "`assist fleet revoke central-1` first" in refused.output
    unknown = council("fleet", "remove-kiosk", "ghost-1")
    assert unknown.exit_code == 1 and "no kiosk ghost-1" in unknown.output and "Traceback" not in unknown.output

    removed = council("fleet", "remove-kiosk", "mistake-1")
    assert removed.exit_code == 0 and "Its enrolment code no longer works" in removed.output
    assert [k["device_id"] for k in json.loads(council("fleet", "list", "--json").output)] == ["central-1"]
    assert council("fleet", "revoke", "central-1").exit_code == 0
    assert council("fleet", "remove-kiosk", "central-1").exit_code == 0
    assert "No kiosks yet" in council("fleet", "list").output


def test_a_removed_kiosks_heartbeats_go_and_its_take_up_events_still_count_in_the_report(run, tmp_path, fleet,
                                                                                         fleet_clock):
    token = fleet.enrol("k1", fleet.add_kiosk("k1"))
    assert fleet.post("/fleet/heartbeat", heartbeat_body("k1", fleet_clock()), device="k1", token=token).is_success
    sent = [event("e1.a", session="s1"), event("e2.a", kind="service", session="s1", service_code="pothole")]
    assert fleet.post("/fleet/events", {"version": 1, "events": sent}, device="k1", token=token).is_success
    council = {"ASSIST_STORE__PATH": str(fleet.settings.store.path)}
    assert run("fleet", "remove-kiosk", "k1", extra_env=council).exit_code == 1  # enrolled: revoke it first
    assert run("fleet", "revoke", "k1", extra_env=council).exit_code == 0
    removed = run("fleet", "remove-kiosk", "k1", extra_env=council)
    assert removed.exit_code == 0 and "Its take-up events (2) stay" in removed.output

    assert fleet.rows("SELECT count(*) FROM fleet_heartbeats WHERE device_id = 'k1'") == [(0,)]
    assert "/fleet/kiosks/k1" not in fleet.pages_seen()  # neither on the fleet page nor a page of its own
    result, figures, _ = report_of(run, tmp_path, [fleet.settings.store.path], since="2026-12-01", until="2026-12-02")
    assert result.exit_code == 0, result.output
    assert figures[("summary", "all", "sessions")] == "1"
    assert figures[("stores", "k1, through the fleet service", "sessions")] == "1"  # its library went with it
