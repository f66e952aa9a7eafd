"""The fleet service as a real peer over loopback HTTP, and what the tests send it.

    peer = start_fleet(tmp_path / "council", clock=clock)      # its own store, on SQLite
    code = peer.add_kiosk("kiosk-1")                            # as `assist fleet add-kiosk` does
    token = peer.enrol("kiosk-1", code)
    peer.post("/fleet/heartbeat", heartbeat_body("kiosk-1", clock()), device="kiosk-1", token=token)
    html = peer.pages_seen()                                    # what signed-in staff read on the fleet pages
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import httpx

from fleet import registry, staff
from fleet.app import create_app
from sync.config import Settings, load_settings
from sync.fleet.formats import DEVICE_HEADER
from sync.store import Store
from sync.store.times import iso, utcnow
from tests.peers import Running, serve_in_thread

HOURS = "Mon-Fri 09:00-17:30; Sat 10:00-16:00"
STAFF, PASSWORD = "alex", "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(page: httpx.Response) -> str:
    """The CSRF token a page's form carries."""
    found = CSRF.search(page.text)
    assert found, page.text
    return found.group(1)


def sign_in(client: httpx.Client, password: str = PASSWORD, name: str = STAFF) -> httpx.Response:
    """Sign in as staff do: the form first (its CSRF token and cookie), then the post."""
    form = client.get("/fleet/sign-in")
    return client.post("/fleet/sign-in", data={"csrf_token": csrf(form), "name": name, "password": password})


@dataclass
class FleetPeer:
    url: str
    settings: Settings
    store: Store
    running: Running | None

    def add_kiosk(self, device_id: str, library: str = "Central Library", hours: str = HOURS) -> str:
        return registry.add_kiosk(self.store.db, device_id, library, hours, "Europe/London", self.store.clock())

    def enrol(self, device_id: str, code: str) -> str:
        answer = httpx.post(self.url + "/fleet/enrol", json={"device_id": device_id, "code": code})
        assert answer.status_code == 200, answer.text
        return answer.json()["token"]

    def post(self, path: str, body: Any = None, *, device: str | None = None, token: str | None = None,
             content: bytes | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = dict(headers or {})
        if device is not None:
            sent[DEVICE_HEADER] = device
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if content is not None:
            return httpx.post(self.url + path, content=content, headers=sent)
        return httpx.post(self.url + path, json=body, headers=sent)

    def add_staff(self, name: str = STAFF, password: str = PASSWORD) -> None:
        staff.add(self.store.db, name, password, self.store.clock())

    def pages_seen(self) -> str:
        """The fleet page and every kiosk's own page, as a member of staff signed in reads them."""
        if not self.rows("SELECT 1 FROM fleet_staff WHERE name = ?", STAFF):
            self.add_staff()
        with httpx.Client(base_url=self.url) as client:
            assert sign_in(client).status_code == 303
            pages = [client.get("/fleet/")]
            devices = self.rows("SELECT device_id FROM fleet_kiosks")
            pages += [client.get(f"/fleet/kiosks/{device}") for (device,) in devices]
        assert all(page.status_code == 200 for page in pages)
        return "\n".join(page.text for page in pages)

    def rows(self, sql: str, *args: Any) -> list[Any]:
        return self.store.db.conn.execute(sql, args).fetchall()

    def stop(self, *, keep_store: bool = False) -> None:
        if self.running is not None:
            self.running.stop()
            self.running = None
        if not keep_store:
            self.store.close()

    def restart(self) -> None:
        """Serve again on the same port (a service back after an outage), over the same store."""
        port = int(self.url.rsplit(":", 1)[1])
        self.running = serve_in_thread(create_app(self.settings, store=self.store, clock=self.store.clock),
                                       name="fleet", port=port, proxy_headers=False)


def start_fleet(folder: Path, *, clock: Callable[[], datetime] = utcnow, environ: dict[str, str] | None = None,
                store_env: dict[str, str] | None = None) -> FleetPeer:
    """The fleet service on a free loopback port, over its own store in `folder`."""
    settings = load_settings(environ={**(store_env or {"ASSIST_STORE__PATH": str(folder / "assist.db")}),
                                      **(environ or {})})
    store = Store.open(settings, clock=clock)
    running = serve_in_thread(create_app(settings, store=store, clock=clock), name="fleet", proxy_headers=False)
    return FleetPeer(f"http://127.0.0.1:{running.port}", settings, store, running)


def heartbeat_body(device_id: str, sent_at: datetime, **changes: Any) -> dict[str, Any]:
    """A heartbeat as a healthy kiosk sends it (the schema's every required field)."""
    body = {"device_id": device_id, "version": "0.1.0", "sent_at": iso(sent_at), "library_name": "Central Library",
            "outbox": {"queued": 0, "accepted": 3}, "oldest_queued_seconds": None, "needs_attention": 0,
            "backoffices": {"default": {"reachable": True, "paused": False, "last_success_at": iso(sent_at),
                                        "last_error": None, "last_error_at": None}},
            "catalogue_age_seconds": 600, "free_disk_mb": 5000, "checks": {"store": True, "key": True, "disk": True},
            "problems": [], "clock_offset_seconds": 0.4, "silent_seconds": 300}
    body.update(changes)
    return body


def event(event_id: str, kind: str = "started", store_id: str = "store-a", **fields: Any) -> dict[str, Any]:
    return {"store_id": store_id, "event_id": event_id, "kind": kind, "at": "2026-12-01T10:00:00.000000Z",
            "session": "5f0c", "channel": "kiosk", "language": "en", **fields}
