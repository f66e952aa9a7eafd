"""`assist report` on the council's side: the SMS service's own sessions and every enrolled kiosk's
events, as the kiosks sent them to the fleet service (their real reporter, over loopback HTTP), give
the figures the kiosks' own store files would, with no file copied."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fleet.schema import EVENT
from sync.config import Settings, load_settings
from sync.fleet.enrolment import enrol
from sync.fleet.reporter import FleetReporter
from sync.reporting import postgres as reporting_postgres
from sync.reporting.stores import PERSONAL_COLUMNS
from sync.store import Store, migrations
from sync.store import db as db_module
from tests.fleet.fleet_support import FleetPeer, event, start_fleet
from tests.postgres import store_env
from tests.sync.reporting.test_report import (
    KIOSK,
    KIOSK_SUBMISSIONS,
    SMS,
    SMS_SUBMISSIONS,
    Clock,
    build_store,
    moment,
    report_of,
    submit,
    visit,
)

LIBRARIES = {"k1": "Central Library", "k2": "Northgate Library"}


def kiosk_settings(path: Path, device_id: str) -> Settings:
    return load_settings(environ={"ASSIST_STORE__PATH": str(path), "ASSIST_KIOSK__DEVICE_ID": device_id})


def send_to_fleet(path: Path, device_id: str, peer: FleetPeer) -> None:
    """Enrol a kiosk's store with the fleet service and have its reporter send what it owes."""
    settings = kiosk_settings(path, device_id)
    store = Store.open(settings)
    try:
        asyncio.run(enrol(store, peer.url, device_id, peer.add_kiosk(device_id, library=LIBRARIES[device_id])))

        async def report() -> bool:
            reporter = FleetReporter(store, settings)
            try:
                return await reporter.report()
            finally:
                await reporter.aclose()

        assert asyncio.run(report())
    finally:
        store.close()


def add_sms(settings: Settings) -> None:
    """The SMS service's sessions and submissions, in the store `settings` name."""
    clock = Clock()
    store = Store.open(settings, clock=clock)
    try:
        for start, language, steps in SMS:
            visit(store, "sms", start, language, steps)
        submit(store, clock, "sms", SMS_SUBMISSIONS)
    finally:
        store.close()


def start_council(request, tmp_path: Path, engine: str):
    """The council's store on `engine`, with the SMS service's records, and its fleet service on
    loopback: yields (peer, the environment naming that store)."""
    postgres = request.getfixturevalue("postgres") if engine == "postgresql" else None
    (tmp_path / "council").mkdir()
    environ = {**store_env(engine, tmp_path / "council", postgres), "ASSIST_KIOSK__DEVICE_ID": "sms-server"}
    environ.setdefault("ASSIST_STORE__PATH", "")  # not the `run` fixture's file beside a PostgreSQL URL
    add_sms(load_settings(environ=environ))
    peer = start_fleet(tmp_path / "council", store_env=environ)
    yield peer, environ
    peer.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def council(request, tmp_path):
    yield from start_council(request, tmp_path, request.param)


@pytest.fixture
def sqlite_council(request, tmp_path):
    yield from start_council(request, tmp_path, "sqlite")


def send_kiosks(tmp_path: Path, peer: FleetPeer) -> list[Path]:
    """Two kiosks' stores (the same visits, each its own random sessions), sent to the fleet service."""
    paths = []
    for device in LIBRARIES:
        path = build_store(tmp_path / device / "assist.db", device, "kiosk", KIOSK, KIOSK_SUBMISSIONS)
        send_to_fleet(path, device, peer)
        paths.append(path)
    return paths


def without_stores(figures: dict) -> dict:
    return {key: value for key, value in figures.items() if key[0] != "stores"}


def test_the_councils_store_alone_gives_the_figures_of_every_kiosks_store_and_the_sms_service(
        run, tmp_path, council):
    peer, environ = council
    kiosks = send_kiosks(tmp_path, peer)
    sms = build_store(tmp_path / "sms" / "assist.db", "sms-server", "sms", SMS, SMS_SUBMISSIONS)
    from_files, files_figures, _ = report_of(run, tmp_path, [*kiosks, sms])
    central, figures, page = report_of(lambda *args: run(*args, extra_env=environ), tmp_path, [])
    assert from_files.exit_code == 0 and central.exit_code == 0, from_files.output + central.output

    assert "18 sessions from 1 store and 2 kiosks through the fleet service." in central.output
    assert figures[("summary", "all", "sessions")] == "18"  # 7 + 7 kiosk sessions, apart, and 4 by text
    assert without_stores(figures) == without_stores(files_figures)
    assert figures[("time_to_acceptance", "kiosk", "accepted")] == "6"
    for device, library in LIBRARIES.items():
        label = f"{device} ({library}), through the fleet service"
        assert figures[("stores", label, "sessions")] == "7" and figures[("stores", label, "submissions")] == "3"
        heard = peer.rows("SELECT max(received_at) FROM fleet_heartbeats WHERE device_id = ?", device)[0][0]
        assert figures[("stores", label, "last_heard")] == heard[:19] + "Z"
        assert label in page
    assert "from 1 store and 2 kiosks through the fleet service" in page


def test_a_kiosk_also_given_as_a_file_is_counted_once_from_its_file(run, tmp_path, sqlite_council):
    peer, environ = sqlite_council
    kiosks = send_kiosks(tmp_path, peer)
    council_file = Path(environ["ASSIST_STORE__PATH"])
    result, figures, page = report_of(run, tmp_path, [council_file, kiosks[0]])
    assert result.exit_code == 0, result.output
    assert figures[("summary", "all", "sessions")] == "18"
    assert figures[("stores", str(kiosks[0]), "sessions")] == "7"
    assert figures[("stores", "k1 (Central Library), through the fleet service", "sessions")] == "0"
    assert f"k1 (Central Library), through the fleet service: what it sent from the store also read from " \
           f"{kiosks[0]} is counted once, from that file." in page
    assert not any(key[0] == "skipped_rows" for key in figures) and "more than one store" not in page


def test_unknown_kinds_are_counted_apart_and_an_unreadable_record_is_skipped_with_one_line(run, tmp_path):
    clock = Clock()
    clock.now = moment("2026-11-03T12:00:00")
    peer = start_fleet(tmp_path / "council", clock=clock)
    try:
        token = peer.enrol("k1", peer.add_kiosk("k1"))
        sent = [event("e1.a", at="2026-11-03T10:00:00.000000Z", session="s1"),
                event("e2.a", kind="service", at="2026-11-03T10:01:00.000000Z", session="s1", service_code="pothole"),
                event("e3.a", kind="photo_taken", at="2026-11-03T10:02:00.000000Z", session="s1"),
                event("e4.a", kind="question", at="2026-11-03T10:03:00.000000Z", session="s1", step="location"),
                event("e5.a", at="2026-11-03T11:00:00.000000Z", session="s2")]
        answer = peer.post("/fleet/events", {"version": 2, "events": sent}, device="k1", token=token)
        assert answer.json() == {"stored": 5, "duplicates": 0, "unknown": 1}
        peer.store.db.conn.execute("UPDATE fleet_events SET body = '{\"session\": \"s2\"' WHERE event_id = 'e5.a'")
        # another kiosk whose random session id happens to be the same: another resident's visit
        other = peer.enrol("k2", peer.add_kiosk("k2", library="Northgate Library"))
        answer = peer.post("/fleet/events", {"version": 1, "events": [
            event("e1.a", at="2026-11-03T10:30:00.000000Z", session="s1")]}, device="k2", token=other)
        assert answer.json()["stored"] == 1
        result, figures, page = report_of(run, tmp_path, [tmp_path / "council" / "assist.db"])
    finally:
        peer.stop()
    assert result.exit_code == 0, result.output
    assert figures[("summary", "all", "sessions")] == "2" and "more than one store" not in page
    assert figures[("gave_up", "question:location", "sessions")] == "1"
    assert figures[("gave_up", "start", "sessions")] == "1"
    label = "k1 (Central Library), through the fleet service"
    assert figures[("stores", label, "unknown_kinds")] == "1"
    assert figures[("skipped_rows", f"{label}:unreadable_record", "rows")] == "1"
    assert "1 event received from kiosks in the period is of a kind this version of assist does not know" in page
    assert "1 event row could not be used" in result.output


def test_a_council_store_from_before_the_fleet_still_reports(run, tmp_path):
    old_path = tmp_path / "council-11.db"
    old = db_module.connect(old_path, migrate=False)
    migrations.apply(old, target=11)  # session events, but no fleet tables yet
    old.conn.execute("INSERT INTO session_events (session, channel, device_id, at, event, language) "
                     "VALUES ('s', 'sms', 'sms-server', '2026-11-03T10:00:00.000000Z', 'started', 'en')")
    old.conn.close()
    result, figures, _ = report_of(run, tmp_path, [old_path])
    assert result.exit_code == 0, result.output
    assert figures[("summary", "all", "sessions")] == "1" and ("stores", str(old_path), "last_heard") not in figures


def test_the_kiosks_events_are_read_through_their_schema_never_a_credential_or_a_residents_words():
    read = {column for columns in reporting_postgres.FLEET_READ.values() for column in columns}
    read |= {column for columns, _ in reporting_postgres.FLEET_SUMMARY.values() for column in columns}
    assert not read & {"token", "token_hash", "code_hash", *PERSONAL_COLUMNS["submissions"]}
    # a body holds the fleet's schema (fleet/schema.py), none of whose fields is a resident's
    assert not set(EVENT) & PERSONAL_COLUMNS["submissions"]


def test_a_request_carried_by_hand_from_a_kiosk_to_the_council_counts_once(run, tmp_path, sqlite_council):
    """A kiosk with no connection exports its queue; the file is imported on the council's server,
    whose store sends it. The kiosk's record of it (`exported`) and the council's own are one
    request: from the store files they share a reference; through the fleet nothing else does."""
    peer, environ = sqlite_council
    kiosk_path = tmp_path / "k1" / "assist.db"
    build_store(kiosk_path, "k1", "kiosk", [], [("2026-11-03T10:00:00", None)])  # saved, never sent
    carried, kiosk_env = tmp_path / "carried.assist", {"ASSIST_STORE__PATH": str(kiosk_path),
                                                       "ASSIST_EXPORT_PASSPHRASE": "a long passphrase here"}
    assert run("outbox", "export", str(carried), extra_env=kiosk_env).exit_code == 0
    imported = run("outbox", "import", str(carried), extra_env={**environ, **kiosk_env,
                                                                "ASSIST_STORE__PATH": environ["ASSIST_STORE__PATH"]})
    assert imported.exit_code == 0, imported.output
    send_to_fleet(kiosk_path, "k1", peer)
    assert peer.rows("SELECT count(*) FROM fleet_events WHERE kind = 'submission'") == [(1,)]
    council_file = Path(environ["ASSIST_STORE__PATH"])
    _, from_files, _ = report_of(run, tmp_path, [council_file, kiosk_path])
    _, central, _ = report_of(lambda *args: run(*args, extra_env=environ), tmp_path, [])
    made = ("time_to_acceptance", "all", "submissions")
    assert from_files[made] == central[made] == "3"  # the SMS service's two, and the one carried
