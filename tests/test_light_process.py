"""A kiosk, the SMS service and the sync worker start without the report's heavy libraries.

matplotlib and numpy (about 30 MB of a kiosk's memory, and a second of its start) serve only
`assist report`, and sqlite_utils only `assist gazetteer import`. Each command's start is imported in
a fresh Python process, as the `assist` entry point would, with all three libraries installed: none
of them may be loaded by it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: python-escpos and Pillow serve only a resident's press of "Print my reference" (sync/printing/).
HEAVY = ("sqlite_utils", "numpy", "matplotlib", "escpos", "PIL")

#: What each long-running command imports when it starts: its click module, what the command
#: imports inside itself before it serves, and the store it opens.
STARTS = {
    "assist kiosk": ("assist.cli", "assist.cli.kiosk", "kiosk.app", "sync.places.gazetteer"),
    "assist sms serve": ("assist.cli", "assist.cli.sms", "uvicorn", "sms.app"),
    "assist sync run": ("assist.cli", "assist.cli.sync", "sync.open311.worker"),
}

CHILD = """
import importlib, importlib.util, json, sys

heavy, modules, store_path = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
installed = [name for name in heavy if importlib.util.find_spec(name) is not None]
for module in modules:
    importlib.import_module(module)
from sync.config import load_settings
from sync.store import Store

settings = load_settings(environ={"ASSIST_STORE__PATH": store_path, "ASSIST_KIOSK__DEVICE_ID": "kiosk-light-1"})
Store.open(settings).close()
print(json.dumps({"installed": installed, "loaded": [name for name in heavy if name in sys.modules]}))
"""


@pytest.mark.parametrize("command", list(STARTS))
def test_a_long_running_command_starts_without_the_report_or_import_libraries(command, tmp_path):
    finished = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(HEAVY), json.dumps(STARTS[command]), str(tmp_path / "assist.db")],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout.splitlines()[-1])
    assert seen["installed"] == list(HEAVY), "the check means nothing unless the libraries could have loaded"
    assert seen["loaded"] == [], f"{command} loads {', '.join(seen['loaded'])} when it starts"
