"""The reference back office's own SQLite file: service requests and their updates.

One connection, shared by the server's worker threads under a lock; every write is one
`BEGIN IMMEDIATE` transaction, so concurrent POSTs get distinct ids and a request is either
wholly saved or not at all. The file runs in WAL mode with a busy timeout, so `assist council
update` in another process can change a status while the server is running.

Times are stored twice: as the ISO 8601 text the API returns (UTC, whole seconds) and as whole
epoch seconds for filtering, so a request shown as 10:00:00 is inside a window ending 10:00:00.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import sqlite_utils

BUSY_TIMEOUT_MS = 5000

#: FixMyStreet's extended statuses (lower case, as GET answers them). "unchanged" is for updates only.
OPEN_STATUSES = ("open", "in_progress", "planned", "action_scheduled", "investigating", "for_triage", "reopen")
CLOSED_STATUSES = ("closed", "fixed", "duplicate", "not_councils_responsibility", "no_further_action",
                   "internal_referral", "cancelled")
STATUSES = OPEN_STATUSES + CLOSED_STATUSES

#: Columns of the requests table that `POST requests` fills from the form.
REQUEST_FIELDS = (
    "service_code", "service_name", "description", "address_string", "address_id", "lat", "long",
    "attributes", "email", "phone", "first_name", "last_name", "device_id", "account_id", "media_url",
    "jurisdiction_id", "agency_responsible", "service_notice",
)


class UnknownRequest(LookupError):
    """No request has that service_request_id."""


class UpdateIdTaken(ValueError):
    """A client's update_id already names an update of another request."""


#: The status a posted update leaves its request in, where that differs from the update's own:
#: FixMyStreet posts REOPEN when a resident says a closed report is not fixed.
REQUEST_STATUS_AFTER = {"reopen": "open"}


@dataclass(frozen=True)
class Created:
    id: int
    service_request_id: str | None  # None in token mode until assigned
    token: str | None


@dataclass(frozen=True)
class StatusChange:
    service_request_id: str
    service_code: str
    old_status: str
    new_status: str
    note: str
    update_id: str


@dataclass(frozen=True)
class PostedUpdate:
    update_id: str  # the server's id for the update
    repeated: bool  # the client's update_id was recorded before: nothing new was written


def to_utc(moment: datetime) -> datetime:
    """Aware UTC datetime at whole seconds (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def iso(moment: datetime) -> str:
    return to_utc(moment).isoformat()


def epoch(moment: datetime) -> int:
    return int(to_utc(moment).timestamp())


def status_family(statuses: Iterable[str]) -> list[str]:
    """Expand Open311's basic `open` / `closed` to the extended statuses they cover."""
    expanded: list[str] = []
    for status in statuses:
        group = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}.get(status, (status,))
        expanded.extend(item for item in group if item not in expanded)
    return expanded


def _request_where(*, ids: Sequence[str] = (), service_codes: Sequence[str] = (), start: datetime | None = None,
                   end: datetime | None = None, statuses: Sequence[str] = (),
                   updated_after: datetime | None = None,
                   updated_before: datetime | None = None) -> tuple[str, list[Any]]:
    """The WHERE clause of a search of requests that have a service_request_id."""
    where: list[str] = ["service_request_id IS NOT NULL"]
    params: list[Any] = []
    if ids:
        where.append(f"service_request_id IN ({', '.join('?' * len(ids))})")
        params.extend(ids)
        return " AND ".join(where), params
    if service_codes:
        where.append(f"service_code IN ({', '.join('?' * len(service_codes))})")
        params.extend(service_codes)
    for column, operator, moment in (("requested_ts", ">=", start), ("requested_ts", "<=", end),
                                     ("updated_ts", ">=", updated_after), ("updated_ts", "<=", updated_before)):
        if moment is not None:
            where.append(f"{column} {operator} ?")
            params.append(epoch(moment))
    if statuses:
        expanded = status_family(statuses)
        where.append(f"status IN ({', '.join('?' * len(expanded))})")
        params.extend(expanded)
    return " AND ".join(where), params


def _update_where(start: datetime | None, end: datetime | None) -> tuple[str, list[Any]]:
    where, params = ["1 = 1"], []
    if start is not None:
        where.append("updated_ts >= ?")
        params.append(epoch(start))
    if end is not None:
        where.append("updated_ts <= ?")
        params.append(epoch(end))
    return " AND ".join(where), params


class CouncilDB:
    """The back office's store. Thread-safe; close it when done."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable across a crash of the server
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._create_schema()

    @classmethod
    def open_existing(cls, path: str | Path) -> "CouncilDB":
        """Open a store that must already exist (staff commands must not create an empty one)."""
        if not Path(path).is_file():
            raise FileNotFoundError(f"no council database at {path} (start `assist council serve --db {path}` first)")
        return cls(path)

    def close(self) -> None:
        with self._lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None  # type: ignore[assignment]

    def _create_schema(self) -> None:
        with self._lock:
            self.db.table("requests").create({
                "id": int, "service_request_id": str, "token": str, "service_code": str, "service_name": str,
                "status": str, "status_notes": str, "description": str, "address_string": str,
                "address_id": str, "lat": float, "long": float, "attributes": str, "email": str, "phone": str,
                "first_name": str, "last_name": str, "device_id": str, "account_id": str, "media_url": str,
                "jurisdiction_id": str, "agency_responsible": str, "service_notice": str,
                "requested_datetime": str, "requested_ts": int, "updated_datetime": str, "updated_ts": int,
                "assign_after_ts": float,
            }, pk="id", not_null={"service_code", "status", "requested_datetime", "requested_ts",
                                  "updated_datetime", "updated_ts"}, if_not_exists=True)
            self.db.table("updates").create({
                "id": int, "request_id": int, "service_request_id": str, "status": str, "description": str,
                "media_url": str, "updated_datetime": str, "updated_ts": int, "client_update_id": str,
            }, pk="id", foreign_keys=[("request_id", "requests", "id")],
               not_null={"request_id", "service_request_id", "status", "updated_datetime", "updated_ts"},
               if_not_exists=True)
            if "client_update_id" not in self.db["updates"].columns_dict:  # a store from before POSTed updates
                self.db.table("updates").add_column("client_update_id", str)
            for sql in (
                "CREATE UNIQUE INDEX IF NOT EXISTS requests_sri ON requests(service_request_id)",
                "CREATE UNIQUE INDEX IF NOT EXISTS requests_token ON requests(token)",
                "CREATE INDEX IF NOT EXISTS requests_requested ON requests(requested_ts)",
                "CREATE INDEX IF NOT EXISTS requests_code_requested ON requests(service_code, requested_ts)",
                "CREATE INDEX IF NOT EXISTS requests_pending ON requests(assign_after_ts) "
                "WHERE service_request_id IS NULL",
                "CREATE INDEX IF NOT EXISTS updates_updated ON updates(updated_ts)",
                "CREATE UNIQUE INDEX IF NOT EXISTS updates_client_id ON updates(client_update_id) "
                "WHERE client_update_id IS NOT NULL",
            ):
                self.conn.execute(sql)

    def _write(self, action):
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = action(self.conn)
                self.conn.execute("COMMIT")
                return result
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- creating and assigning -------------------------------------------------------------

    def create_request(self, fields: dict[str, Any], *, now: datetime, token_mode: bool = False,
                       token_delay: float = 0.0) -> Created:
        """Save one new request, status open. In token mode it gets a token now and its
        service_request_id once `token_delay` seconds have passed (see `assign_due`)."""
        row = {name: fields.get(name) for name in REQUEST_FIELDS}
        if isinstance(row["attributes"], (dict, list)):
            row["attributes"] = json.dumps(row["attributes"], ensure_ascii=False)
        stamp, ts = iso(now), epoch(now)
        row.update(status="open", requested_datetime=stamp, requested_ts=ts, updated_datetime=stamp,
                   updated_ts=ts)
        token = uuid.uuid4().hex if token_mode else None
        if token_mode:
            row.update(token=token, assign_after_ts=now.timestamp() + token_delay)

        def insert(conn: sqlite3.Connection) -> Created:
            columns = list(row)
            cursor = conn.execute(
                f"INSERT INTO requests ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [row[column] for column in columns])
            new_id = cursor.lastrowid
            assert new_id is not None  # an INSERT always has a row id
            service_request_id = None
            if not token_mode:
                service_request_id = str(new_id)
                conn.execute("UPDATE requests SET service_request_id = ? WHERE id = ?", (service_request_id, new_id))
            return Created(id=new_id, service_request_id=service_request_id, token=token)

        return self._write(insert)

    def assign_due(self, now: datetime) -> int:
        """Give every token-mode request whose delay has passed its service_request_id."""
        with self._lock:
            pending = self.conn.execute(
                "SELECT 1 FROM requests WHERE service_request_id IS NULL AND assign_after_ts <= ? LIMIT 1",
                (now.timestamp(),)).fetchone()
            if pending is None:
                return 0
            return self._write(lambda conn: conn.execute(
                "UPDATE requests SET service_request_id = CAST(id AS TEXT) "
                "WHERE service_request_id IS NULL AND assign_after_ts <= ?", (now.timestamp(),)).rowcount)

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self.conn.execute(sql, params)]

    def by_token(self, token: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM requests WHERE token = ?", (token,))
        return rows[0] if rows else None

    def get(self, service_request_id: str) -> dict[str, Any] | None:
        rows = self._query("SELECT * FROM requests WHERE service_request_id = ?", (service_request_id,))
        return rows[0] if rows else None

    def search(self, *, limit: int | None = 50, offset: int = 0, newest_first: bool = False,
               **filters: Any) -> list[dict[str, Any]]:
        """Requests that have a service_request_id, oldest first (or newest first), `limit` at
        most (None: all). Filters as `_request_where`; `ids` overrides every other filter."""
        where, params = _request_where(**filters)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM requests WHERE {where} ORDER BY id {order} LIMIT ? OFFSET ?"
        return self._query(sql, [*params, -1 if limit is None else limit, offset])

    def count_matching(self, **filters: Any) -> int:
        """How many requests `search` would find with these filters and no limit."""
        where, params = _request_where(**filters)
        with self._lock:
            return self.conn.execute(f"SELECT count(*) FROM requests WHERE {where}", params).fetchone()[0]

    def updates(self, *, start: datetime | None = None, end: datetime | None = None, limit: int | None = 50,
                offset: int = 0, newest_first: bool = False) -> list[dict[str, Any]]:
        where, params = _update_where(start, end)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT * FROM updates WHERE {where} ORDER BY id {order} LIMIT ? OFFSET ?"
        return self._query(sql, [*params, -1 if limit is None else limit, offset])

    def count_updates(self, *, start: datetime | None = None, end: datetime | None = None) -> int:
        where, params = _update_where(start, end)
        with self._lock:
            return self.conn.execute(f"SELECT count(*) FROM updates WHERE {where}", params).fetchone()[0]

    def all_requests(self) -> list[dict[str, Any]]:
        return self._query("SELECT * FROM requests ORDER BY id")

    def count(self) -> int:
        with self._lock:
            return self.conn.execute("SELECT count(*) FROM requests").fetchone()[0]

    # -- staff -----------------------------------------------------------------------------

    def change_status(self, service_request_id: str, *, status: str | None, note: str, now: datetime,
                      media_url: str | None = None) -> StatusChange:
        """What a member of staff does in the back office: set a status and/or add a note.
        Writes an update row, so `servicerequestupdates` reports it."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of: {', '.join(STATUSES)}")

        def change(conn: sqlite3.Connection) -> StatusChange:
            row = conn.execute("SELECT * FROM requests WHERE service_request_id = ?",
                               (service_request_id,)).fetchone()
            if row is None:
                raise UnknownRequest(service_request_id)
            new_status = status or row["status"]
            update_id = _record_update(conn, row, request_status=new_status, update_status=new_status, note=note,
                                       media_url=media_url, now=now)
            return StatusChange(service_request_id=service_request_id, service_code=row["service_code"],
                                old_status=row["status"], new_status=new_status, note=note, update_id=update_id)

        return self._write(change)

    def post_update(self, service_request_id: str, *, client_update_id: str, status: str, description: str,
                    now: datetime, media_url: str | None = None) -> PostedUpdate:
        """An update a client POSTs (mySociety's extension): recorded once per `client_update_id`,
        so a client resending after a lost answer gets the first update's id back, not a second
        update. Raises UnknownRequest, or UpdateIdTaken if that id belongs to another request."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of: {', '.join(STATUSES)}")

        def post(conn: sqlite3.Connection) -> PostedUpdate:
            earlier = conn.execute("SELECT id, service_request_id FROM updates WHERE client_update_id = ?",
                                   (client_update_id,)).fetchone()
            if earlier is not None:
                if earlier["service_request_id"] != service_request_id:
                    raise UpdateIdTaken(client_update_id)
                return PostedUpdate(update_id=str(earlier["id"]), repeated=True)
            row = conn.execute("SELECT * FROM requests WHERE service_request_id = ?",
                               (service_request_id,)).fetchone()
            if row is None:
                raise UnknownRequest(service_request_id)
            update_id = _record_update(conn, row, request_status=REQUEST_STATUS_AFTER.get(status, status),
                                       update_status=status, note=description, media_url=media_url, now=now,
                                       client_update_id=client_update_id)
            return PostedUpdate(update_id=update_id, repeated=False)

        return self._write(post)


def _record_update(conn: sqlite3.Connection, row: sqlite3.Row, *, request_status: str, update_status: str,
                   note: str, media_url: str | None, now: datetime, client_update_id: str | None = None) -> str:
    """Set a request's status and notes and write the update row `servicerequestupdates` reports
    (inside the caller's transaction); the update's id."""
    stamp, ts = iso(now), epoch(now)
    conn.execute(
        "UPDATE requests SET status = ?, status_notes = ?, updated_datetime = ?, updated_ts = ? WHERE id = ?",
        (request_status, note or row["status_notes"], stamp, ts, row["id"]))
    cursor = conn.execute(
        "INSERT INTO updates (request_id, service_request_id, status, description, media_url, updated_datetime, "
        "updated_ts, client_update_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (row["id"], row["service_request_id"], update_status, note, media_url, stamp, ts, client_update_id))
    return str(cursor.lastrowid)
