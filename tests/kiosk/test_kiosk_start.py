"""A kiosk's first page loads only what it draws (issue 14's start-up target).

The language menu needs no later page, no volunteer's PIN check, no phone or email validation, no
fuzzy matching and no CLDR data: each of those is loaded when first used. A kiosk is started for
real in a fresh process, headless, to its first screen, and what it loaded is read there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Modules the first page must not load, and why each is loaded later.
NOT_AT_START = {
    "kiosk.screens.question": "the pages past the language menu (kiosk/navigation.py)",
    "kiosk.screens.dashboard": "the staff pages, after F9",
    "sync.store.volunteers": "a volunteer's sign-in",
    "argon2": "a volunteer's PIN",
    "phonenumbers": "a phone number given",
    "email_validator": "an email address given",
    "rapidfuzz": "a misspelt street, or a council's own catalogue",
}

CHILD = r"""
import json, sys
from kiosk.app import KioskApp
from kiosk.speech import Speaker
from sync.config import load_settings
from sync.store import Store

settings = load_settings(environ={"ASSIST_STORE__PATH": sys.argv[1]})
app = KioskApp(settings, Store.open(settings), speaker=Speaker(find=lambda name: None))
seen = {}

async def auto_pilot(pilot):
    await pilot.pause()
    seen["screen"] = type(pilot.app.screen).__name__
    seen["loaded"] = sorted(name for name in json.loads(sys.argv[2]) if name in sys.modules)
    seen["cldr"] = "babel.localedata" in sys.modules and bool(sys.modules["babel.localedata"]._cache)
    pilot.app.exit()

app.run(headless=True, size=(80, 24), auto_pilot=auto_pilot)
print(json.dumps(seen))
"""


def test_the_first_page_loads_no_later_page_nor_what_only_later_pages_use(tmp_path):
    command = [sys.executable, "-c", CHILD, str(tmp_path / "assist.db"), json.dumps(list(NOT_AT_START))]
    finished = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False, timeout=60)
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout.splitlines()[-1])
    assert seen["screen"] == "LanguageScreen"
    assert seen["loaded"] == [], "loaded at start: " + ", ".join(f"{name} ({NOT_AT_START[name]})"
                                                                for name in seen["loaded"])
    assert not seen["cldr"], "CLDR data read to draw the language menu (languages are named from manifests)"
