"""The Store: one object per process over the local SQLite file, composed of one part per concern.

Each part (a mixin deriving from StoreBase) holds the methods of one concern, so a reader finds
the outbox's claiming in claiming.py and the purge in retention.py, while every caller keeps the
one object it has always had: `Store.open(settings)`, then `store.enqueue(...)`, `store.claim(...)`.
"""

from __future__ import annotations

from typing import Any, Self

from sync.config import Settings
from sync.store import db as db_module
from sync.store import keycheck
from sync.store.backoffices import Backoffices
from sync.store.catalogue_cache import CatalogueCache
from sync.store.claiming import Claiming
from sync.store.corrections import Corrections
from sync.store.exporting import Exporting
from sync.store.history import History
from sync.store.listing import Listing
from sync.store.resolutions import Resolutions
from sync.store.retention import Retention
from sync.store.saving import Saving


class Store(Saving, Claiming, Corrections, Resolutions, Exporting, History, Listing, Retention, Backoffices,
            CatalogueCache):
    """The outbox of residents' submissions and everything the channels and the worker tell one another."""

    @classmethod
    def open(cls, settings: Settings, **overrides: Any) -> Self:
        """Open (creating, mode 0600, and migrating) the store with its own key, or raise
        KeyProblem (sync/store/keycheck.py decides which key that is). `overrides` are the
        keyword arguments of StoreBase (tests pass a clock)."""
        if settings.on_postgres:
            db = db_module.connect_postgres(settings.store.url, places=settings.gazetteer_path)
        else:
            keycheck.create_private(settings.store_path)
            db = db_module.connect(settings.store_path)
        try:
            vault = keycheck.open_vault(db, settings)
        except BaseException:
            db.close()
            raise
        options: dict[str, Any] = {
            "device_id": settings.device_id, "retention_days": settings.store.retention_days,
            "lease_seconds": settings.sync.lease_seconds, "backoff_base_seconds": settings.sync.backoff_base_seconds,
            "backoff_cap_seconds": settings.sync.backoff_cap_seconds, "route": settings.route,
            "overlay_pins": settings.overlay_pins()}
        return cls(db, vault, **(options | overrides))
