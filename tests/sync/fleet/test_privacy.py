"""Nothing personal crosses to the fleet service: markers planted in a kiosk's submissions are
found nowhere the service stored (its database file, every table) or logged."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from sync.fleet.enrolment import enrol
from sync.store import events
from tests.fleet.fleet_support import start_fleet
from tests.helpers import API_KEY, draft, open_kiosk, worker_drain, worker_round
from tests.misbehaving import canned, start_misbehaving_server, stop_misbehaving_server
from tests.sync.fleet.support import report_once

MARKERS = {"name": "Zebedee Quixotic", "phone": "+447700900461", "phone_national": "07700 900461",
           "email": "zq.marker@example.com", "description": "MARKERDESC broken swing by the duck pond",
           "address": "17 Markerton Lane"}


def _everything(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_markers_in_a_kiosks_submissions_reach_the_council_and_nothing_of_them_the_fleet(tmp_path, council_server,
                                                                                          caplog):
    caplog.set_level(logging.DEBUG)
    council = council_server(api_key=API_KEY)
    fleet = start_fleet(tmp_path / "fleet-service")
    settings, store = open_kiosk(tmp_path, council, name="kiosk-1")
    try:
        asyncio.run(enrol(store, fleet.url, "kiosk-1", fleet.add_kiosk("kiosk-1")))
        for channel in ("kiosk", "paper"):
            store.enqueue(draft(channel=channel, description=MARKERS["description"],
                                location={"address_string": MARKERS["address"]},
                                contact={"name": MARKERS["name"], "phone": MARKERS["phone"],
                                         "email": MARKERS["email"]}, notify_phone=MARKERS["phone"]))
        session = events.new_session()
        for kind in (events.STARTED, events.SERVICE, events.CHECK, events.SUBMITTED):
            events.record(store, session, kind, channel="kiosk", language="en", service_code="pothole")
        report = worker_round(store, settings)
        assert report.accepted == 2
        stored = fleet.rows("SELECT count(*) FROM fleet_events")[0][0]
        assert stored == 4 + 2 and fleet.rows("SELECT count(*) FROM fleet_heartbeats") == [(1,)]
        pages = fleet.pages_seen()
    finally:
        fleet.stop()
        store.close()
    # The markers were real: the council has them (so finding none at the fleet means something).
    council_files = b"".join(path.read_bytes() for path in council.db_path.parent.glob(council.db_path.name + "*"))
    assert MARKERS["description"].encode() in council_files
    kept = _everything(tmp_path / "fleet-service")
    # What the fleet service logged, and what the kiosk logged of its exchanges with it.
    logged = "\n".join(record.getMessage() for record in caplog.records
                       if record.name.startswith(("fleet", "sync.fleet", "uvicorn")))
    assert "kiosk-1 enrolled" in logged
    for what, marker in MARKERS.items():
        for shape in {marker, marker.lower(), marker.replace(" ", ""), marker.split()[-1]}:
            assert shape.encode() not in kept, f"the resident's {what} is in the fleet service's store"
            assert shape not in logged, f"the resident's {what} is in the fleet's logs"
            assert shape not in pages, f"the resident's {what} is on the fleet's pages"


def test_a_back_office_echoing_the_residents_words_in_its_errors_sends_none_of_them_to_the_fleet(tmp_path, fleet):
    echo = (f"Rejected: description '{MARKERS['description']}' from {MARKERS['name']}, phone {MARKERS['phone']}, "
            f"email {MARKERS['email']}, at {MARKERS['address']}")
    server = start_misbehaving_server()
    kiosks = []
    try:
        refusing = canned(400, [{"code": 400, "description": echo}])
        failing = canned(503, echo, content_type="text/plain")
        for name, answer in (("kiosk-1", refusing), ("kiosk-2", failing)):
            settings, store = open_kiosk(tmp_path, server.scenario(name, {("POST", "requests"): answer}), name=name)
            kiosks.append(store)
            asyncio.run(enrol(store, fleet.url, name, fleet.add_kiosk(name)))
            store.enqueue(draft(description=MARKERS["description"], location={"address_string": MARKERS["address"]},
                                contact={"name": MARKERS["name"], "phone": MARKERS["phone"],
                                         "email": MARKERS["email"]}, notify_phone=MARKERS["phone"]))
            worker_drain(store, settings)
            assert report_once(store, settings)
        assert kiosks[0].counts()["needs_attention"] == 1 and kiosks[1].counts()["accepted"] == 0
        errors = [json.loads(body)["backoffices"]["default"]["last_error"]
                  for (body,) in fleet.rows("SELECT body FROM fleet_heartbeats ORDER BY device_id")]
        assert errors[1], "the 503 is reported to the council, scrubbed"
        pages = fleet.pages_seen()
        assert "kiosk-2" in pages
    finally:
        for store in kiosks:
            store.close()
        stop_misbehaving_server(server)
    kept = _everything(tmp_path / "council")
    for what, marker in MARKERS.items():
        assert marker.encode() not in kept, f"the resident's {what} is in the fleet service's store"
        assert marker not in pages, f"the resident's {what} is on the fleet's pages"
