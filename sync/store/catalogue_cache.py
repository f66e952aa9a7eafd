"""The catalogue in force: the council's last good one, kept here, merged with the bundled overlay.

The sync worker saves the council's catalogue; every channel reads it from here, so a kiosk
offline for weeks still offers what the council last said it takes.
"""

from __future__ import annotations

from datetime import datetime

from sync import catalogue as catalogue_module
from sync.store import db as db_module
from sync.store.base import StoreBase
from sync.store.times import parse_iso


class CatalogueCache(StoreBase):
    def catalogue(self) -> catalogue_module.Catalogue:
        """The cached council catalogue merged with the bundled overlay, or the bundled one.

        Parsed and merged once per catalogue the worker saves (another process may save one at
        any time, so each call looks at its stamp), not once per call."""
        row = self.db.conn.execute("SELECT fetched_at, version FROM catalogue_cache WHERE id = 1").fetchone()
        stamp = tuple(row) if row else None
        if self._catalogue is None or self._catalogue[0] != stamp:
            body = self.db.conn.execute("SELECT body FROM catalogue_cache WHERE id = 1").fetchone() if stamp else None
            self._catalogue = (stamp, catalogue_module.current(body[0] if body else None, self.overlay_pins))
        return self._catalogue[1]

    def save_council_catalogue(self, council: catalogue_module.Catalogue) -> None:
        """Keep the last good council catalogue (only ever replaced by another good one)."""
        with db_module.write(self.db) as conn:
            conn.execute("INSERT INTO catalogue_cache (id, version, fetched_at, body) VALUES (1, ?, ?, ?) "
                         "ON CONFLICT (id) DO UPDATE SET version = excluded.version, fetched_at = excluded.fetched_at, "
                         "body = excluded.body", (council.version, self._now(), council.to_json()))

    def catalogue_fetched_at(self) -> datetime | None:
        row = self.db.conn.execute("SELECT fetched_at FROM catalogue_cache WHERE id = 1").fetchone()
        return parse_iso(row[0]) if row else None
