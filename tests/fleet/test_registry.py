"""`assist fleet add-kiosk`, `revoke` and `list`, run as an operator runs them, on both engines."""

from __future__ import annotations

import json
import re

from fleet import registry
from sync.store import Store

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
