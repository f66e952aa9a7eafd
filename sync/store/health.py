"""Can this store take a resident's next submission? The answer `/healthz` gives a monitor.

A health check that only reads says "ok" while nothing can be saved: a held lock lets every
read through, and a full disk fails only the write that needs a new page. So the check tries
what a submission needs: a write (rolled back, so it changes nothing), the key opening what is
sealed, and room on the disk.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from sync.config import Settings
from sync.crypto import KeyProblem
from sync.store import keycheck
from sync.store.db import path_of, probe_write

if TYPE_CHECKING:
    from sync.store.store import Store


def problems(store: Store, settings: Settings) -> list[str]:
    """Each reason the store cannot take a submission now, as one line; empty when it can."""
    return [problem for problem in checked(store, settings).values() if problem]


def checked(store: Store, settings: Settings) -> dict[str, str | None]:
    """Each check by name ("store": a write, "key", "disk": free space): its problem, or None."""
    found: dict[str, str | None] = {"store": None, "key": None, "disk": None}
    try:
        probe_write(store.db)
    except Exception as error:  # noqa: BLE001 - any failure of the probe is the answer
        found["store"] = f"the store cannot be written: {error}"
    try:
        keycheck.verify(store)
    except KeyProblem as error:
        found["key"] = f"the key does not match the store: {error}"
    minimum = settings.store.min_free_mb
    free = free_mb(store)
    if free is not None and free < minimum:
        found["disk"] = f"only {free} MB free on the store's disk (store.min_free_mb is {minimum})"
    return found


def free_mb(store: Store) -> int | None:
    """Megabytes free on the disk holding the store file (None for a store in memory, or on
    PostgreSQL, whose volume is watched by the database's operators)."""
    name = path_of(store.db)
    if name is None or store.db.on_postgres:
        return None
    return shutil.disk_usage(Path(name).parent).free // (1024 * 1024)
