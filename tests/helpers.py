"""Small builders shared by tests (fixtures are in the conftest.py files)."""

from __future__ import annotations

import csv
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from sync.config import Settings, load_settings
from sync.flow import Draft
from sync.places import gazetteer
from sync.store import Store

#: The key the kiosks of the sync tests send, and their council_server(api_key=...) expects.
API_KEY = "council-key-1"
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


class Clock:
    """A clock tests can move; every store time goes through it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def open_kiosk(tmp_path: Path, url: str, *, key: str = API_KEY, fmt: str = "json", extra: dict[str, str] | None = None,
               clock: Any = None, name: str = "kiosk") -> tuple[Settings, Store]:
    """A kiosk's settings and open store (under tmp_path/name) sending to the back office at `url`,
    retrying at once and giving up on an answer after 2 s."""
    env = {"ASSIST_STORE__PATH": str(tmp_path / name / "assist.db"), "ASSIST_BACKOFFICE__URL": url,
           "ASSIST_BACKOFFICE__API_KEY": key, "ASSIST_BACKOFFICE__FORMAT": fmt, "ASSIST_KIOSK__DEVICE_ID": name,
           "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "0", "ASSIST_SYNC__TIMEOUT_SECONDS": "2", **(extra or {})}
    settings = load_settings(environ=env)
    store = Store.open(settings, **({"clock": clock} if clock else {}))
    return settings, store


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


def import_addresses(db: Any, folder: Path, rows: Iterable[Sequence[Any]], name: str = "addresses.csv") -> None:
    """Rows of (UPRN, ADDRESS, POSTCODE, LAT, LON) written as a council's CSV and imported into
    the gazetteer of `db`."""
    path = folder / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["UPRN", "ADDRESS", "POSTCODE", "LAT", "LON"])
        writer.writerows(rows)
    gazetteer.import_csv(db, path)


def self_signed(folder: Path, name: str = "sms.council.example") -> tuple[Path, Path]:
    """A certificate for `name` signed by itself, and its key (files in `folder`): one no machine trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + timedelta(days=1)).sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now, for a server a test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
