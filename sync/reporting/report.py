"""The take-up report's figures: how residents used the kiosks and the text service in a period.

`assist report` reads one or more stores: this machine's, and files copied from each kiosk and
from the SMS server (stores.py reads them, read-only); on the council's side, its store also holds
what every enrolled kiosk sent the fleet service, read as one store a kiosk (kiosks.py). A year of
a busy council is around a million event rows, so the work is SQL aggregation: one pass over each
store folds its events into one row per session (sync/store/events.py explains the events), kept
in a small in-memory database where the figures are grouped (figures.py). Rows the report cannot
understand are skipped, counted by reason, and listed in the report: a figure quietly built on bad
rows would be worse than one that says what it left out. The report never reads what residents
told us, so it is safe to hand to anyone.

This module is what the command imports; the report's data (Period, Section...) is in model.py.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync.reporting.figures import figures
from sync.reporting.kiosks import read_kiosks
from sync.reporting.model import (
    SKIP_REASONS,
    Chart,
    Column,
    Period,
    Report,
    ReportError,
    Row,
    Section,
    StoreRead,
    long_date,
)
from sync.reporting.stores import WORK_SCHEMA, authorize, read_store

__all__ = ["SKIP_REASONS", "Chart", "Column", "Period", "Report", "ReportError", "Row", "Section", "StoreRead",
           "build", "long_date"]


def build(stores: list[tuple[str, Path | str]], period: Period) -> Report:
    """Read every store (label, a SQLite file's path or a PostgreSQL store's URL) and work out the
    report's figures for `period`."""
    conn = sqlite3.connect("file::memory:", uri=True, isolation_level=None)
    try:
        conn.execute("PRAGMA temp_store = MEMORY")  # the sorting of a year's events stays off the disk
        conn.executescript(WORK_SCHEMA)
        conn.set_authorizer(authorize)
        read = [read_store(conn, path, label, period) for label, path in stores]
        # Then the kiosks whose events the council's store received (kiosks.py), less the stores
        # read from their files just now.
        files = {store.store_id: store.label for store in read if store.store_id}
        for (label, source), store in zip(stores, list(read)):
            if store.kiosk_events:
                read += read_kiosks(conn, source, label, period, files)
        conn.set_authorizer(None)
        return figures(conn, period, read)
    finally:
        conn.close()
