"""The outbox: durable enqueue rate against a raw sqlite3 INSERT with the same pragmas, and the
claim rate. Targets (issue 2): enqueue at least half the raw rate."""

from __future__ import annotations

import sqlite3
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sync.config import load_settings
from sync.store import Store
from tests.helpers import draft

COUNT = 2000


def _raw_rate(path: Path, row_bytes: int) -> float:
    """One durable INSERT per transaction, WAL and synchronous=FULL: the floor a store can reach."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, reference TEXT UNIQUE, key TEXT UNIQUE, body BLOB, at TEXT)")
    body = b"x" * row_bytes
    start = time.perf_counter()
    for index in range(COUNT):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO t (reference, key, body, at) VALUES (?, ?, ?, datetime('now'))",
                     (f"R{index:09d}", f"k{index}", body))
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return COUNT / elapsed


def run(report) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        store = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(folder / "assist.db")}))
        sample = draft()
        start = time.perf_counter()
        for index in range(COUNT):
            store.enqueue(replace(sample, idempotency_key=f"k{index}"))
        enqueue_rate = COUNT / (time.perf_counter() - start)
        row_bytes = len(store.db.conn.execute("SELECT payload FROM submissions LIMIT 1").fetchone()[0])
        raw_rate = _raw_rate(folder / "raw.db", row_bytes)
        report("raw sqlite3 INSERT, WAL + synchronous=FULL (baseline)", raw_rate, "rows/s")
        report("durable enqueue (encrypt, reference, history row)", enqueue_rate, "subs/s",
               f"ratio {enqueue_rate / raw_rate:.2f} (target >= 0.50)")

        start = time.perf_counter()
        claimed = 0
        while batch := store.claim("bench", limit=10):
            claimed += len(batch)
        claim_rate = claimed / (time.perf_counter() - start)
        report("claim with lease, batches of 10", claim_rate, "subs/s",
               f"ratio {claim_rate / raw_rate:.2f} of raw insert")
        store.close()
