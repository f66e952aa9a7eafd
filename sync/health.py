"""Can this store take a resident's next submission? The answer `/healthz` gives a monitor.

A health check that only reads says "ok" while nothing can be saved: a held lock lets every
read through, and a full disk fails only the write that needs a new page. So the check tries
what a submission needs: a write (rolled back, so it changes nothing), the key opening what is
sealed, and room on the disk.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from pathlib import Path

from sync.crypto import KeyProblem
from sync.db import probe_write

#: Free space below which /healthz says the store cannot be trusted to take more, until the
#: `store.min_free_mb` setting exists (then that).
DEFAULT_MIN_FREE_MB = 200


def problems(store, settings) -> list[str]:
    """Each reason the store cannot take a submission now, as one line; empty when it can."""
    found = []
    try:
        probe_write(store.db)
    except Exception as error:  # noqa: BLE001 - any failure of the probe is the answer
        found.append(f"the store cannot be written: {error}")
    try:
        check_key(store)
    except KeyProblem as error:
        found.append(f"the key does not match the store: {error}")
    minimum = getattr(settings.store, "min_free_mb", DEFAULT_MIN_FREE_MB)
    free = free_mb(store)
    if free is not None and free < minimum:
        found.append(f"only {free} MB free on the store's disk (store.min_free_mb is {minimum})")
    return found


def check_key(store) -> None:
    """Raise KeyProblem unless the key in force opens this store's sealed values: the store's
    recorded key check (sync.keycheck) where this version has one, else one sealed value."""
    if importlib.util.find_spec("sync.keycheck") is not None:
        importlib.import_module("sync.keycheck").verify(store)
        return
    row = store.db.conn.execute(
        "SELECT payload FROM submissions WHERE payload IS NOT NULL ORDER BY id DESC LIMIT 1").fetchone()
    if row is not None:
        store.vault.open(row[0])


def free_mb(store) -> int | None:
    """Megabytes free on the disk holding the store file (None for a store in memory)."""
    name = store.db.conn.execute("PRAGMA database_list").fetchone()[2]
    if not name:
        return None
    return shutil.disk_usage(Path(name).parent).free // (1024 * 1024)
