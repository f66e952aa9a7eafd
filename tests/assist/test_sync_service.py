"""`assist sync run` as the operating system runs it: signals, "sync now", and what it logs."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sync.config import load_settings
from sync.open311.worker import Worker
from sync.store import Store
from tests.helpers import DESCRIPTION, EMAIL, PHONE, draft

ROOT = Path(__file__).resolve().parents[2]


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "assist", "sync", "run"], cwd=ROOT, text=True,
                               env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    for line in process.stderr:
        if "sync worker" in line and "started" in line:
            return process
        assert time.monotonic() < deadline, "the worker did not start"
    raise AssertionError(f"the worker exited: {process.wait()}")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_worker_stops_cleanly_on_sigterm_and_ctrl_c(env, signum):
    process = start_worker({**env, "ASSIST_BACKOFFICE__URL": "http://127.0.0.1:9/"})
    process.send_signal(signum)
    assert process.wait(timeout=10) == 0
    assert "sync worker stopped" in process.stderr.read()


@pytest.mark.slow
def test_sync_now_left_in_the_store_is_acted_on_at_once(env, council_server):
    url = council_server(api_key="k")
    worker_env = {**env, "ASSIST_BACKOFFICE__URL": url, "ASSIST_BACKOFFICE__API_KEY": "k",
                  "ASSIST_SYNC__POLL_SECONDS": "600"}
    process = start_worker(worker_env)
    try:
        store = Store.open(load_settings(environ=worker_env))
        time.sleep(1)  # the first round has run and found nothing; the next is ten minutes away
        saved = store.enqueue(draft())
        store.request("sync_now")  # what the kiosk's "sync now" does: no network call of its own
        deadline = time.monotonic() + 15
        while store.lookup(saved.reference).state != "accepted":
            assert time.monotonic() < deadline, "sync now was not acted on"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


def test_logs_name_references_never_personal_data(store, settings, council_server, caplog):
    url = council_server(api_key="k")
    sending = load_settings(environ={"ASSIST_STORE__PATH": str(settings.store_path), "ASSIST_BACKOFFICE__URL": url,
                                     "ASSIST_BACKOFFICE__API_KEY": "k"})
    saved = store.enqueue(draft())
    refused = store.enqueue(draft(attributes={}, idempotency_key="refused"))

    async def go():
        worker = Worker(store, sending)
        try:
            await worker.drain()
        finally:
            await worker.aclose()
    with caplog.at_level(logging.DEBUG):
        asyncio.run(go())
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert f"{saved.display_reference}: accepted by default" in text
    assert f"{refused.display_reference}: refused by default" in text
    for secret in (PHONE, "7911 123456", EMAIL, "Ann Resident", DESCRIPTION, "Station Road"):
        assert secret not in text
