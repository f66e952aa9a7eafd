"""How the kiosk stops when its terminal goes away or the system tells it to, whatever state the
terminal is in.

Textual's LinuxDriver writes the screen from a thread through a queue of thirty writes. When the
terminal hangs up (a tmux session closed, an SSH session dropped, a console restarted) a write
fails with EIO: the writer thread dies, the next thirty repaints fill the queue, and the app's own
thread then waits on it for ever, asleep in a futex; SIGTERM, handled on the event loop that no
longer turns, does nothing. A terminal that is still there but no longer read (a frozen client)
blocks the same way. So:

- `KioskDriver` drops what can no longer be written, and a hang-up seen on either side (EIO on
  writing or reading, or the terminal's own POLLHUP, which an idle kiosk that writes nothing needs:
  reading a closed terminal that is not the controlling one gives only end-of-file, which Textual's
  input thread ignores) is posted to the app as `HungUp`, which wipes the visit and exits;
- `StopOnSignals` catches SIGTERM, SIGHUP and SIGINT in the main thread (a Python handler runs even
  while that thread waits on a lock), asks the app to wipe the visit and exit, and ends the process
  after `GRACE_SECONDS` if that has not happened by then (the visit is in memory only: it goes with
  the process).
"""

from __future__ import annotations

import asyncio
import logging
import os
import select
import signal
import threading
from types import FrameType
from typing import IO, Any, Callable

from textual.drivers.linux_driver import LinuxDriver
from textual.message import Message

log = logging.getLogger(__name__)

#: Seconds a stopping kiosk has to wipe the visit and exit in good order before it is ended.
GRACE_SECONDS = 3.0

#: The signals that stop a kiosk.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class HungUp(Message):
    """The kiosk's terminal has gone (posted to the app from the driver's threads)."""


class _Terminal:
    """The terminal the writer thread writes to: a write that fails (EIO, the terminal is gone)
    reports the hang-up once, and everything after it is dropped instead of failing again."""

    def __init__(self, file: IO[str], hung_up: Callable[[], None]) -> None:
        self.file = file
        self.hung_up = hung_up
        self.gone = False

    def _try(self, action: Callable[[], object]) -> None:
        if self.gone:
            return
        try:
            action()
        except OSError:
            self.gone = True
            self.hung_up()

    def write(self, text: str) -> None:
        self._try(lambda: self.file.write(text))

    def flush(self) -> None:
        self._try(self.file.flush)

    def fileno(self) -> int:
        return self.file.fileno()


class KioskDriver(LinuxDriver):
    """Textual's terminal driver, which notices its terminal hanging up instead of waiting on it."""

    def __init__(self, app: Any, **options: Any) -> None:
        super().__init__(app, **options)
        self._hung_up = threading.Event()
        self._file = _Terminal(self._file, self.hang_up)  # type: ignore[arg-type,assignment]

    def hang_up(self) -> None:
        """Called from the writer or the input thread: tell the app, once."""
        if not self._hung_up.is_set():
            self._hung_up.set()
            try:
                self.send_message(HungUp())
            except RuntimeError:  # the app's loop has already closed: it is exiting anyway
                pass

    def write(self, data: str) -> None:
        if not self._hung_up.is_set():  # nothing queued for a terminal that is gone
            super().write(data)

    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError:  # EIO on reading: the terminal is gone
            self.hang_up()

    def start_application_mode(self) -> None:
        super().start_application_mode()
        if self.input_tty:
            threading.Thread(target=self.watch_for_hang_up, name="kiosk-hang-up", daemon=True).start()

    def watch_for_hang_up(self) -> None:
        """Wait for POLLHUP (asked for no other event, so input waiting to be read does not wake it)."""
        watch = select.poll()
        watch.register(self.fileno, 0)
        while not self._hung_up.is_set() and not self.exit_event.is_set():
            if any(mask & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for _, mask in watch.poll(500)):
                self.hang_up()


class StopOnSignals:
    """SIGTERM, SIGHUP and SIGINT call `stop` on the event loop; once stopping has begun (by a
    signal or a hang-up), the process is ended `GRACE_SECONDS` later if it is still running."""

    def __init__(self, loop: asyncio.AbstractEventLoop, stop: Callable[[int], None]) -> None:
        self.loop = loop
        self.stop = stop
        self.deadline: threading.Timer | None = None

    def install(self) -> None:
        for number in STOP_SIGNALS:
            signal.signal(number, self.signalled)

    def signalled(self, number: int, frame: FrameType | None) -> None:
        self.stopping(signal.Signals(number).name)
        self.loop.call_soon_threadsafe(self.stop, number)

    def stopping(self, why: str) -> None:
        """Start the grace period (once)."""
        if self.deadline is None:
            self.deadline = threading.Timer(GRACE_SECONDS, self.end_now, (why,))
            self.deadline.daemon = True
            self.deadline.start()

    @staticmethod
    def end_now(why: str) -> None:
        """The kiosk did not stop in good order (its terminal takes no output): end the process,
        and the visit held in its memory with it."""
        log.warning("kiosk did not stop within %s s (%s): ended at once", GRACE_SECONDS, why)
        for handler in logging.getLogger().handlers:
            try:
                handler.flush()
            except Exception:  # noqa: S110 - the process ends either way
                pass
        os._exit(0)
