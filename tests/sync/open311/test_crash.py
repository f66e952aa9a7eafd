"""kill -9 of `assist sync run` at any moment, then a restart, loses nothing and duplicates nothing.

A thousand submissions are drained into the reference back office while it fails 10% of all
calls (500/503, nothing done) and commits-then-drops another 10% of creations (the ambiguous
case, which must be reconciled, never resent). The worker runs as a real process and is killed
with SIGKILL several times mid-drain, restarted each time; a last worker finishes the drain and
is stopped with SIGTERM. Then the council's own file is counted: exactly 1,000 requests, each
reference once, and every submission `accepted` with the id the council has for it.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from sync import reference
from sync.config import load_settings
from sync.open311.reconcile import RECONCILED_NOTE
from sync.store import Store
from tests import helpers
from tests.helpers import draft

ROOT = Path(__file__).resolve().parents[3]
COUNT = 1000
KILLS = 6
SEED = 20261124
API_KEY = "crash-test-key"
PENDING = ("queued", "sending", "awaiting_id")


def _pending(env: dict[str, str], pid: int | None = None) -> dict[str, int]:
    """What is left to send, read from the store file with a fresh Store, as another process would;
    with `pid`, also how many sends that worker had in flight (marked `sending`, no outcome yet)."""
    store = Store.open(load_settings(environ=env))
    try:
        counts = store.counts()
        in_flight = helpers.in_flight(store.db.conn, pid) if pid else 0
    finally:
        store.close()
    return {**{state: counts[state] for state in PENDING}, "in_flight": in_flight}


def _council_rows(db_path: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT service_request_id, description FROM requests ORDER BY id").fetchall()
    finally:
        conn.close()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@pytest.mark.slow
def test_kill_9_during_a_faulty_drain_of_1000_loses_nothing_and_duplicates_nothing(tmp_path, council_server):
    began = time.monotonic()
    rng = random.Random(SEED)
    env = {
        "ASSIST_STORE__PATH": str(tmp_path / "kiosk" / "assist.db"), "ASSIST_KIOSK__DEVICE_ID": "crash-kiosk",
        "ASSIST_BACKOFFICE__API_KEY": API_KEY,
        # Short enough that a killed worker's leases lapse quickly and retries come round fast.
        "ASSIST_SYNC__LEASE_SECONDS": "3", "ASSIST_SYNC__BACKOFF_BASE_SECONDS": "1",
        "ASSIST_SYNC__BACKOFF_CAP_SECONDS": "2", "ASSIST_SYNC__POLL_SECONDS": "1",
        "ASSIST_SYNC__TIMEOUT_SECONDS": "5",
    }

    store = Store.open(load_settings(environ=env))
    ids = {}
    for index in range(COUNT):
        saved = store.enqueue(draft(idempotency_key=f"crash-{index}"))
        ids[saved.reference] = saved.id
    store.close()
    assert len(ids) == COUNT

    url = council_server(api_key=API_KEY, fail_rate=0.1, drop_after_commit=0.1, seed=SEED)
    council = url.app.state.db
    env["ASSIST_BACKOFFICE__URL"] = url
    worker_env = {**os.environ, **env, "PYTHONPATH": str(ROOT)}
    logs = tmp_path / "logs"
    logs.mkdir()

    def start(number: int) -> tuple[subprocess.Popen, Path]:
        log_path = logs / f"worker-{number}.log"
        with log_path.open("w") as log_file:
            process = subprocess.Popen([sys.executable, "-m", "assist", "sync", "run"], cwd=ROOT, env=worker_env,
                                       stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
        return process, log_path

    kills = []
    for number in range(KILLS):
        process, log_path = start(number)
        try:
            # Kill at a random moment once this worker is sending (the council has heard from it),
            # or, one time in five, at a random moment from its launch, however far it has got.
            at_launch = council.count()
            if rng.random() < 0.2:
                time.sleep(rng.uniform(0.05, 1.5))
            else:
                deadline = time.monotonic() + 15
                while council.count() == at_launch and process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 0.8))
            assert process.poll() is None, f"worker {number} died by itself:\n{_tail(log_path)}"
            process.send_signal(signal.SIGKILL)
        finally:
            process.kill()
            process.wait(timeout=10)
        kills.append({"council": council.count(), **_pending(env, process.pid)})

    process, log_path = start(KILLS)
    try:
        deadline = began + 100
        while sum((left := _pending(env))[state] for state in PENDING):
            assert process.poll() is None, f"the last worker died by itself:\n{_tail(log_path)}"
            assert time.monotonic() < deadline, f"not drained in time: {left}\n{_tail(log_path)}"
            time.sleep(0.25)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, f"the last worker did not stop cleanly:\n{_tail(log_path)}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)

    rows = _council_rows(url.db_path)
    council_id = {}
    found = Counter()
    for service_request_id, description in rows:
        refs = reference.find_in(description)
        assert len(refs) == 1, f"request {service_request_id} carries {refs!r}"
        found[refs[0]] += 1
        council_id[refs[0]] = service_request_id
    duplicated = {ref: n for ref, n in found.items() if n > 1}
    lost = set(ids) - set(found)
    assert not duplicated, f"{len(duplicated)} references reached the council more than once: {duplicated}"
    assert not lost, f"{len(lost)} submissions never reached the council: {sorted(lost)[:10]}"
    assert set(found) == set(ids)
    assert len(rows) == COUNT

    store = Store.open(load_settings(environ=env))
    try:
        states = store.counts()
        assert states["accepted"] == COUNT, states
        recorded = dict(store.db.conn.execute("SELECT reference, service_request_id FROM submissions").fetchall())
        reconciled = store.db.conn.execute(
            "SELECT count(*) FROM status_history WHERE status = 'accepted' AND notes = ?",
            (RECONCILED_NOTE,)).fetchone()[0]
    finally:
        store.close()
    wrong = {ref: (recorded[ref], council_id[ref]) for ref in ids if recorded[ref] != council_id[ref]}
    assert not wrong, f"{len(wrong)} submissions hold another id than the council's: {list(wrong.items())[:10]}"

    # Write-ahead per request: a kill leaves at most `sync.concurrency` (8) ambiguous, never a batch.
    assert max(kill["in_flight"] for kill in kills) <= load_settings(environ=env).sync.concurrency, kills
    dropped = url.app.edge.dropped
    # Every dropped answer left a request at the council that only reconciliation can adopt.
    assert dropped > 0 and reconciled >= dropped, (dropped, reconciled)
    elapsed = time.monotonic() - began
    mid_send = sum(1 for kill in kills if kill["in_flight"])
    print(f"\ncrash test: {len(kills)} SIGKILLs ({mid_send} with sends in flight: "
          f"{[kill['in_flight'] for kill in kills]}; "
          f"council count at each kill: {[kill['council'] for kill in kills]}), "
          f"{dropped} answers dropped after commit, {reconciled} found at the council by reconciliation, "
          f"{len(rows)} requests at the council, {COUNT} accepted, {elapsed:.1f} s")
    assert elapsed < 120
