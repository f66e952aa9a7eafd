"""A store with something in every part, written the way the channels and the worker write it: for
tests that move a whole store (`assist store copy`) and must find it all on the other side."""

from __future__ import annotations

from datetime import timedelta

from sync.config import Settings
from sync.places import gazetteer as gz
from sync.store import Store, audit, events, volunteers
from sync.store import db as db_module
from sync.texting import deliveries, intake, outbound
from tests.helpers import PHONE, Clock, draft

SUBMISSIONS = 12
SESSIONS = 40  # a few hundred event rows: several batches of a small batch size
COUNCIL_NOTES = "Spoke to Ann on 07712 345678: fixed on Tuesday"


def fill(settings: Settings, clock: Clock | None = None) -> list[str]:
    """Write submissions (some sent and accepted, with status history and outbox events), texts in
    and out with a delivery, volunteers and the audit log, and take-up events; the references."""
    clock = clock or Clock()
    store = Store.open(settings, clock=clock)
    try:
        references = []
        for number in range(SUBMISSIONS):
            saved = store.enqueue(draft(idempotency_key=f"copy-{number}", channel="sms" if number % 3 else "kiosk"))
            references.append(saved.reference)
            clock.advance(minutes=7)
        for claimed in store.claim("worker", limit=4):
            store.mark_sending(claimed.id, "worker")
            store.mark_accepted(claimed.id, "worker", f"SR-{claimed.id}")
            store.record_status(claimed.id, "in_progress", COUNCIL_NOTES, external_id=f"u-{claimed.id}")
        with db_module.write(store.db) as conn:
            store._event(conn, 1, "attempt", "accepted")  # as the worker records its attempts
        store.set_backoffice_state("default", reachable=True)
        store.request("sync_now")
        text = outbound.queue_text(store, PHONE, "Your report is fixed", kind="status", dedupe_key="status:1",
                                   language="en", submission_id=1)
        store.db.conn.execute("UPDATE sms_texts SET provider_id = 'SM-out-1' WHERE id = ?", (text.id,))
        deliveries.record_delivery(store, "SM-out-1", "delivered")
        with db_module.write(store.db) as conn:
            for sid in ("SM-in-1", "SM-in-2"):
                intake.claim_inbound(conn, sid, clock.now.isoformat(), reply=store.vault.seal("Thanks"))
            intake.count_message(conn, "global", "2026-11-24T09:00", clock.now.isoformat())
        volunteers.add(store, "Ann Helper", "volunteer", "482913")
        volunteers.add(store, "Bea Lead", "supervisor", "739104")
        audit.record(store, "cli", "volunteer.add", "ok", "Ann Helper")
        for number in range(SESSIONS):
            session = events.new_session()
            began = clock.now + timedelta(minutes=number)
            events.record(store, session, events.STARTED, channel="kiosk", language="en", at=began)
            for step, seconds in (("location", 30), ("description", 90)):
                events.record(store, session, events.QUESTION, channel="kiosk", language="en",
                              service_code="pothole", step=step, at=began + timedelta(seconds=seconds))
            if number % 2:
                events.record(store, session, events.SUBMITTED, channel="kiosk", language="en",
                              service_code="pothole", at=began + timedelta(seconds=120))
        if not store.db.on_postgres:
            gz.import_csv(store.db.places, gz.DEMO_CSV)
        return references
    finally:
        store.close()
