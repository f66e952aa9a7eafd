"""Small builders shared by tests."""

from __future__ import annotations

from sync.flow import Draft

PHONE = "+447911123456"
EMAIL = "ann.resident@example.com"
DESCRIPTION = "Deep pothole by the bus stop, a cyclist nearly fell"


def draft(**changes) -> Draft:
    values = dict(
        service_code="pothole", channel="kiosk", language="en", catalogue_version="test-1",
        location={"address_string": "outside 4 Station Road, Brackenford"},
        attributes={"size": "large", "surface": "road"}, description=DESCRIPTION,
        contact={"name": "Ann Resident", "phone": PHONE, "email": EMAIL}, notify_phone=PHONE,
    )
    values.update(changes)
    return Draft(**values)


#: Submissions marked `sending` whose outcome is not recorded yet: their last outbox event is the
#: mark itself (an ambiguous one being looked for again had its outcome, a retry, recorded).
IN_FLIGHT_SQL = """
    SELECT count(*) FROM submissions AS s WHERE s.state = 'sending' AND s.lease_owner LIKE ?
      AND (SELECT kind FROM outbox_events WHERE submission_id = s.id ORDER BY id DESC LIMIT 1) = 'sending'"""


def in_flight(conn, pid: int) -> int:
    """How many sends the worker process `pid` had marked `sending` without a recorded outcome."""
    return conn.execute(IN_FLIGHT_SQL, (f"%:{pid}:%",)).fetchone()[0]


def worker_round(store, settings, **options):
    """One round of `assist sync run` (Worker.tick) in this process; its DrainReport."""
    return _with_worker(store, settings, "tick", **options)


def worker_drain(store, settings, **options):
    """One Worker.drain() in this process (only what is due now is sent); its DrainReport."""
    return _with_worker(store, settings, "drain", **options)


def _with_worker(store, settings, what: str, **options):
    import asyncio

    from sync.open311.worker import Worker

    async def go():
        worker = Worker(store, settings, **options)
        try:
            return await getattr(worker, what)()
        finally:
            await worker.aclose()
    return asyncio.run(go())
