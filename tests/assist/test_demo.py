"""`make demo` without a terminal tells the story end to end: residents' requests saved offline,
sent once the back office comes up, a status back, the take-up report written, and the kiosk
enrolled with a fleet service that has its heartbeat and figures."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from assist.cli.demo import FLEET_PASSWORD, FLEET_STAFF
from fleet import registry, staff
from sync.config import load_settings
from sync.store import Store, volunteers


def tell_story(folder):
    done = subprocess.run([sys.executable, "-m", "assist", "demo", "--script", "--dir", str(folder)],
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done


@pytest.mark.slow
def test_the_demo_story_runs_end_to_end(tmp_path):
    folder = tmp_path / "demo"
    done = tell_story(folder)
    assert done.stdout.count("saved to the outbox: reference") == 2
    assert "closed       Collected this morning. Sorry!" in done.stdout
    assert "2 sessions from 1 store." in done.stdout
    assert (folder / "report.html").read_text(encoding="utf-8").count("<svg") >= 1
    store = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(folder / "assist.db")}))
    try:
        assert store.counts()["accepted"] == 4 and store.counts()["queued"] == 0
        assert [volunteer.name for volunteer in volunteers.names(store)] == ["Demo Volunteer"]
    finally:
        store.close()


@pytest.mark.slow
def test_the_demo_enrols_its_kiosk_with_a_fleet_service_again_on_every_run(tmp_path):
    folder = tmp_path / "demo"
    first = tell_story(folder)
    assert "demo-kiosk-1  Brackenford Central Library  [enrolled]" in first.stdout
    # the council's own report covers the kiosk through the fleet service, no store file copied
    assert "2 sessions from 1 store and 1 kiosk through the fleet service" in first.stdout
    assert "Brackenford Central Library" in (folder / "fleet-report.html").read_text(encoding="utf-8")
    again = tell_story(folder)  # a new port perhaps: the kiosk is revoked and enrolled afresh
    assert "Kiosk demo-kiosk-1 revoked" in again.stdout
    assert "demo-kiosk-1  Brackenford Central Library  [enrolled]" in again.stdout
    assert "fleet-service/assist.db .venv/bin/assist fleet serve" in again.stdout
    fleet = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(folder / "fleet-service" / "assist.db")}))
    try:
        [kiosk] = registry.kiosks(fleet.db, fleet.clock())
        assert kiosk.state == "enrolled" and kiosk.library == "Brackenford Central Library"
        beats = fleet.db.conn.execute("SELECT count(*) FROM fleet_heartbeats").fetchone()[0]
        records = fleet.db.conn.execute("SELECT count(*) FROM fleet_events WHERE kind = 'submission'").fetchone()[0]
        assert asyncio.run(staff.check(fleet.db, FLEET_STAFF, FLEET_PASSWORD, fleet.clock()))
    finally:
        fleet.close()
    kiosk_store = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(folder / "assist.db")}))
    try:
        accepted = kiosk_store.counts()["accepted"]
    finally:
        kiosk_store.close()
    assert beats >= 2 and records == accepted == 6  # both runs' residents, and the paper forms once: each once


@pytest.mark.slow
def test_a_demo_that_fails_half_way_leaves_no_service_running(tmp_path):
    """The fleet service cannot start (a time zone that does not exist): the back office started
    before it is stopped too, not left listening after the demo has gone."""
    folder = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "assist", "demo", "--script", "--dir", str(folder)],
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL,
                          env={**os.environ, "ASSIST_FLEET__TIMEZONE": "Europe/Londn"})
    assert done.returncode != 0 and "the fleet service did not start" in done.stderr + done.stdout
    left = subprocess.run(["pgrep", "-f", str(folder)], capture_output=True, text=True).stdout.split()
    assert left == [], "left running: " + subprocess.run(["ps", "-o", "args=", "-p", ",".join(left)],
                                                         capture_output=True, text=True).stdout
