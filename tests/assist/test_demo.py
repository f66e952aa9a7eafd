"""`make demo` without a terminal tells the story end to end: residents' requests saved offline,
sent once the back office comes up, a status back, and the take-up report written."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sync.config import load_settings
from sync.store import Store, volunteers


@pytest.mark.slow
def test_the_demo_story_runs_end_to_end(tmp_path):
    folder = tmp_path / "demo"
    done = subprocess.run([sys.executable, "-m", "assist", "demo", "--script", "--dir", str(folder)],
                          capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert done.stdout.count("saved to the outbox: reference") == 2
    assert "closed       Collected this morning. Sorry!" in done.stdout
    assert "2 sessions from 1 store." in done.stdout
    assert (folder / "report.html").read_text(encoding="utf-8").count("<svg") >= 1
    store = Store.open(load_settings(environ={"ASSIST_STORE__PATH": str(folder / "assist.db")}))
    try:
        assert store.counts()["accepted"] == 4 and store.counts()["queued"] == 0
        assert [volunteer.name for volunteer in volunteers.names(store)] == ["Demo Volunteer"]
    finally:
        store.close()
