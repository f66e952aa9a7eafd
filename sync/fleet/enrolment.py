"""`assist fleet enrol`: a kiosk exchanges the council's one-time code for its own token."""

from __future__ import annotations

import httpx

from sync.fleet import link
from sync.fleet.client import FleetClient
from sync.store import Store


async def enrol(store: Store, url: str, device_id: str, code: str, *,
                transport: httpx.AsyncBaseTransport | None = None) -> None:
    """Enrol this kiosk's store with the service at `url` (ValueError for a URL refused, FleetError
    for a code refused or a service unreached); the token is kept sealed in the store."""
    client = FleetClient(url, transport=transport)
    try:
        token = await client.enrol(device_id, code.strip())
    finally:
        await client.aclose()
    link.save_enrolment(store, client.url, device_id, token)
