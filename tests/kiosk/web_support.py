"""The kiosk served to a real browser: `assist kiosk serve` as a process on loopback, Debian's
chromium headless driven by Playwright (never a downloaded browser: tests/browser.py), and a tab
that reads what the kiosk sends its terminal (xterm.js draws on a canvas, so the websocket's frames
are the text)."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser import PATIENCE, start, stop
from tests.helpers import free_port

#: Control sequences and the like, between the words a terminal shows.
CONTROLS = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]")
#: Keys pressed by name; anything else longer than one character is typed.
KEYS = {"Enter", "Escape", "Tab", "Backspace", "ArrowUp", "ArrowDown", "F2", "F3", "F4", "F9"}
#: Milliseconds without a frame after which a page is taken as drawn.
QUIET_MS = 150


@dataclass
class Served:
    """A running `assist kiosk serve`, its log, and the kiosks (processes) it runs for tabs."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path
    limit: int

    def kiosks(self) -> set[int]:
        found: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            try:
                found |= {int(pid) for pid in (task / "children").read_text().split()}
            except OSError:
                continue
        return found

    def place_freed(self, within: float) -> bool:
        """Whether fewer kiosks than the limit run, within `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.kiosks()) >= self.limit:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def stop(self) -> None:
        stop(self.process)


def serve(env: dict[str, str], log: Path, limit: int) -> Served:
    """`assist kiosk serve` on a free loopback port, `limit` tabs at most, once it answers."""
    port = free_port()
    process = start(["kiosk", "serve", "--port", str(port)], {**env, "ASSIST_KIOSK__WEB_MAX_SESSIONS": str(limit)},
                    log, f"http://127.0.0.1:{port}/")
    return Served(process, f"http://127.0.0.1:{port}/", log, limit)


def gone(pid: int, within: float) -> bool:
    """Whether process `pid` has ended (a zombie awaiting its parent counts as ended) within `within` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.1)
    return False


@dataclass
class Tab:
    """One browser tab on the kiosk: keys in, the terminal's text out."""

    page: object
    frames: list[str] = field(default_factory=list)
    mark: int = 0

    def __post_init__(self) -> None:
        self.page.on("websocket", lambda socket: socket.on("framereceived", self._received))

    def _received(self, frame: str | bytes) -> None:
        self.frames.append(frame if isinstance(frame, str) else frame.decode("utf-8", "replace"))

    def text(self, since: int = 0) -> str:
        return CONTROLS.sub(" ", "".join(self.frames[since:]))

    def open(self, url: str) -> int:
        """The page at `url`; its HTTP status."""
        response = self.page.goto(url)
        assert response is not None
        return response.status

    def wait_for(self, words: str, since: int | None = None) -> None:
        """Until the terminal has been sent `words` (since the last key, by default). Playwright's
        sync API hears the browser only while it is called: this waits inside the page."""
        start = self.mark if since is None else since
        deadline = time.monotonic() + PATIENCE
        while words not in self.text(start):
            if time.monotonic() > deadline:
                raise AssertionError(f"{words!r} never shown; the terminal said: {self.text(start)[-2000:]!r}")
            self.page.wait_for_timeout(100)

    def press(self, key: str, then: str | None = None) -> None:
        """A key (or text, typed) into the terminal; then, until the kiosk has shown `then` and drawn
        everything."""
        self.page.focus(".xterm-helper-textarea")
        self.mark = len(self.frames)
        if len(key) == 1 or key in KEYS:
            self.page.keyboard.press(key)
        else:
            self.page.keyboard.type(key)
        if then is not None:
            self.wait_for(then)
        self.settle()

    def settle(self) -> None:
        """Until the kiosk has drawn something and then nothing for a moment (a blinking cursor never
        stops for long: three seconds at most)."""
        deadline = time.monotonic() + 3
        seen = self.mark
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(QUIET_MS)
            if seen == len(self.frames) > self.mark:
                return
            seen = len(self.frames)
