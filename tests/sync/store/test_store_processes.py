"""Several processes on one store, and processes killed mid-write: what a kiosk lives through."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest

from sync.config import load_settings
from sync.store import Store

pytestmark = pytest.mark.slow  # real processes, started and killed

ROOT = Path(__file__).resolve().parents[3]

WORKER = textwrap.dedent("""
    import sys
    from sync.config import load_settings
    from sync.store import Store
    from tests.helpers import draft
    store = Store.open(load_settings())
    name, count = sys.argv[1], int(sys.argv[2])
    for index in range(count):
        store.enqueue(draft(idempotency_key=f"{name}-{index}"))
        for item in store.claim(name, limit=3):
            store.mark_sending(item.id, name)
            store.mark_accepted(item.id, name, f"{name}-{item.id}")
            print(item.reference, flush=True)
    while batch := store.claim(name, limit=5):
        for item in batch:
            store.mark_sending(item.id, name)
            store.mark_accepted(item.id, name, f"{name}-{item.id}")
            print(item.reference, flush=True)
""")

WRITER = textwrap.dedent("""
    import itertools
    from sync.config import load_settings
    from sync.store import Store
    from tests.helpers import draft
    store = Store.open(load_settings())
    for index in itertools.count():
        store.enqueue(draft(description="x" * (index % 500)))
        print(index, flush=True)
""")


def _spawn(script: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=ROOT, text=True,
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_processes_enqueueing_and_claiming_at_once_never_double_claim(env):
    Store.open(load_settings(environ=env)).close()  # create the file once, as an installer would
    workers = [_spawn(WORKER, env, f"w{number}", "40") for number in range(4)]
    claimed = Counter()
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        claimed.update(out.split())
    store = Store.open(load_settings(environ=env))
    assert store.counts()["accepted"] == 160
    assert len(claimed) == 160 and set(claimed.values()) == {1}, claimed.most_common(3)
    store.close()


@pytest.mark.sqlite_only
def test_a_process_killed_at_any_moment_leaves_whole_submissions_only(env):
    Store.open(load_settings(environ=env)).close()
    rng = random.Random(7)
    for _ in range(4):
        writer = _spawn(WRITER, env)
        deadline = time.monotonic() + 30
        seen = 0
        while seen < rng.randint(5, 40) and time.monotonic() < deadline:
            assert writer.stdout.readline(), writer.stderr.read()
            seen += 1
        time.sleep(rng.random() / 50)
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    store = Store.open(load_settings(environ=env))
    conn = store.db.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    total = conn.execute("SELECT count(*) FROM submissions").fetchone()[0]
    assert total >= 20
    orphans = conn.execute("SELECT count(*) FROM submissions s WHERE NOT EXISTS "
                           "(SELECT 1 FROM status_history h WHERE h.submission_id = s.id)").fetchone()[0]
    assert orphans == 0
    for row in store.listing(limit=1000):
        assert store.personal(row["reference"])["payload"]["location"]
    store.close()
