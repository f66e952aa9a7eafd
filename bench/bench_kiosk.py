"""The kiosk: cold start to the first screen, keypress to the next question drawn, and peak memory,
each against a bare Textual app (one Static) measured in the same run. Targets (issue 14), as ratios
to that app so that a busy machine does not move them: cold start at most 2.0x, Enter to the next
question drawn at most 8x a bare push_screen with a p90 under 30 ms, peak memory through a whole
report at most 2.0x.

Cold start and memory are measured in fresh processes (a kiosk starts in one), the keypress
in-process: from the key event entering the app to the driver writing the first frame that shows
the next page. Everything runs headless at 80x24, on a store in a temporary folder.

The fresh processes run with their bytecode cached, as an installed kiosk's is (pip compiles a
wheel's modules as it installs them): the cache is in the temporary folder, filled by a first
run of each app, and of a whole report on a store of its own, that is not counted. Without it, an environment that sets
PYTHONDONTWRITEBYTECODE compiles every one of the kiosk's modules from source at each start
(about a tenth of its start), and the bare app, all of it in installed packages, nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5
PRESSES = 20

#: Run in a child process: start an app headless, report (wall clock at first frame, max RSS).
CHILD = r"""
import json, sys, time
which, store_path = sys.argv[1], sys.argv[2]
if which != "bare":
    # The kiosk as deploy/README.md installs it, without the `[report]` extra: this development
    # environment has matplotlib's fontTools, which arabic_reshaper would load (5 MB) on a kiosk
    # that never has it.
    sys.modules["fontTools"] = None
if which == "bare":
    from textual.app import App
    from textual.widgets import Static

    class Bare(App):
        def compose(self):
            yield Static("Choose your language")
    app = Bare()
else:
    from kiosk.app import KioskApp
    from kiosk.speech import Speaker
    from sync.config import load_settings
    from sync.store import Store

    settings = load_settings(environ={"ASSIST_STORE__PATH": store_path})
    app = KioskApp(settings, Store.open(settings), speaker=Speaker(find=lambda name: None))
first = {}

async def auto_pilot(pilot):
    await pilot.pause()
    first.setdefault("at", time.time())
    if which == "journey":  # a resident's whole report, for peak memory
        from textual.widgets import Input
        for key in ("1", "enter", "1"):
            await pilot.press(key)
        for key in ("1", "1", "enter"):  # bins, missed bin ... a location in words
            await pilot.press(key)
        await pilot.click("#describe-button")
        pilot.app.focused.insert_text_at_cursor("outside 3 Market Square")
        for key in ("enter", "2", "enter", "enter", "enter", "2", "enter"):
            await pilot.press(key)
        await pilot.pause()
        # measure a whole journey or nothing: a change to the questions must not halve it quietly
        assert type(pilot.app.screen).__name__ == "ConfirmationScreen", type(pilot.app.screen).__name__
    pilot.app.exit()

app.run(headless=True, size=(80, 24), auto_pilot=auto_pilot)
# VmHWM is this process's own peak: ru_maxrss would carry the peak of the bench that forked it.
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"first_frame": first["at"], "max_rss_kb": peak_kb}))
"""


def _child(which: str, store_path: str) -> tuple[float, float]:
    """(seconds from process start to the first screen, peak RSS in MB) for one fresh process."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env.update(PYTHONPATH=str(ROOT), PYTHONPYCACHEPREFIX=str(Path(store_path).parent / "bytecode"))
    started = time.time()
    done = subprocess.run([sys.executable, "-c", CHILD, which, store_path], env=env, capture_output=True,
                          text=True, check=True, cwd=ROOT)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["first_frame"] - started, result["max_rss_kb"] / 1024


async def _measure(app, prepare, back) -> list[float]:
    """Milliseconds from Enter entering `app` to the driver writing the first frame of another
    screen, PRESSES times; `prepare` gets to the page, `back` returns to it after each."""
    from textual import events

    samples = []
    async with app.run_test(size=(80, 24)) as pilot:
        await prepare(pilot)
        frames: list[tuple[float, object]] = []
        write = app._driver.write

        def recording_write(data):
            frames.append((time.perf_counter(), app.screen))
            return write(data)

        app._driver.write = recording_write
        for _ in range(PRESSES):
            before = app.screen
            frames.clear()
            start = time.perf_counter()
            app._driver.send_message(events.Key("enter", None))
            deadline = time.perf_counter() + 5
            while not any(screen is not before for _, screen in frames):
                if time.perf_counter() > deadline:  # Enter showed an error instead of moving on
                    raise RuntimeError(f"Enter did not leave {type(before).__name__}")
                await asyncio.sleep(0.0005)
            drawn = next(at for at, screen in frames if screen is not before)
            samples.append((drawn - start) * 1000)
            await pilot.pause()
            await back(pilot)
    return samples


async def _to_a_question(pilot) -> None:
    for key in ("1", "enter", "1", "1", "1", "enter"):  # English, Start, report, bins, missed bin, location
        await pilot.press(key)
    await pilot.click("#describe-button")
    pilot.app.focused.insert_text_at_cursor("outside 3 Market Square")
    await pilot.pause()


async def _back_to_the_location(pilot) -> None:
    await pilot.press("escape")
    pilot.app.screen.query_one("#place").focus()
    await pilot.pause()


def _bare_app():
    """A bare Textual app whose Enter pushes a one-Static screen (and Escape pops it)."""
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import Static

    class Next(Screen):
        def compose(self):
            yield Static("Which bin was not emptied?")

    class Bare(App):
        BINDINGS = [("enter", "next", "Next"), ("escape", "back", "Back")]

        def compose(self):
            yield Static("Where is it?")

        def action_next(self):
            self.push_screen(Next())

        def action_back(self):
            self.pop_screen()

    return Bare()


async def _keypress_latency(store_path: str) -> tuple[list[float], list[float]]:
    """Milliseconds from Enter to the next question's first frame, for the kiosk and for a bare app
    pushing a one-Static screen."""
    from kiosk.app import KioskApp
    from kiosk.speech import Speaker
    from sync.config import load_settings
    from sync.store import Store

    settings = load_settings(environ={"ASSIST_STORE__PATH": store_path})
    kiosk = KioskApp(settings, Store.open(settings), speaker=Speaker(find=lambda name: None), cursor_blink=False)

    async def nothing(pilot):
        await pilot.pause()

    async def bare_back(pilot):
        await pilot.press("escape")

    return (await _measure(kiosk, _to_a_question, _back_to_the_location),
            await _measure(_bare_app(), nothing, bare_back))


def run(report) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store_path = str(Path(folder) / "assist.db")
        _child("kiosk", store_path)  # the first runs create the store, its key and the bytecode: not counted
        _child("bare", store_path)
        _child("journey", str(Path(folder) / "warm-up.db"))  # the bytecode of every page, on a store of its own
        bare = [_child("bare", store_path) for _ in range(RUNS)]
        kiosk = [_child("kiosk", store_path) for _ in range(RUNS)]
        bare_start = statistics.median(seconds for seconds, _ in bare)
        kiosk_start = statistics.median(seconds for seconds, _ in kiosk)
        report("cold start to first screen: bare Textual app (baseline)", bare_start * 1000, "ms")
        report("cold start to first screen: kiosk", kiosk_start * 1000, "ms",
               f"ratio {kiosk_start / bare_start:.2f} (target <= 2.0)")

        kiosk_presses, bare_presses = asyncio.run(_keypress_latency(store_path))
        bare_ms, kiosk_ms = statistics.median(bare_presses), statistics.median(kiosk_presses)
        report("Enter to next screen drawn: bare push_screen (baseline)", bare_ms, "ms")
        report("Enter to next question drawn: kiosk (median)", kiosk_ms, "ms",
               f"ratio {kiosk_ms / bare_ms:.2f} (target <= 8); p90 {statistics.quantiles(kiosk_presses, n=10)[-1]:.1f} "
               f"ms (target < 30 ms)")

        bare_rss = max(rss for _, rss in bare)
        journey_rss = _child("journey", store_path)[1]
        report("peak memory: bare Textual app (baseline)", bare_rss, "MB")
        report("peak memory: kiosk through a whole report", journey_rss, "MB",
               f"ratio {journey_rss / bare_rss:.2f} (target <= 2.0)")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))

    def _print(name: str, value: float, unit: str, note: str = "") -> None:
        print(f"{name:<58} {value:>12,.2f} {unit:<10} {note}", flush=True)

    run(_print)
