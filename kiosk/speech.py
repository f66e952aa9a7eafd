"""Read-aloud with espeak-ng, where a library has installed it.

It is optional: without espeak-ng on the PATH the kiosk offers no "Read aloud" at all. With it,
the current page is spoken in the resident's language (espeak-ng has voices for English, Welsh and
every community language the kiosk ships). The text goes in on standard input as UTF-8, so nothing
a resident typed ever appears in a process list, and a new utterance stops the one before.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Callable

log = logging.getLogger(__name__)

EXECUTABLE = "espeak-ng"
#: espeak-ng voice for each language code the kiosk may offer (British English, not American).
#: Languages whose espeak-ng voice is not named by the language code itself.
VOICES = {"en": "en-gb"}
#: Words a minute: a little slower than espeak-ng's 175, for people listening in a second language.
SPEED = 150


class Speaker:
    """Speaks text with espeak-ng, if it is installed. `popen` is the subprocess boundary."""

    def __init__(self, executable: str | None = None, *, popen: Callable[..., subprocess.Popen] = subprocess.Popen,
                 find: Callable[[str], str | None] = shutil.which) -> None:
        self.executable = executable or find(EXECUTABLE)
        self._popen = popen
        self._speaking: subprocess.Popen | None = None

    @property
    def available(self) -> bool:
        return self.executable is not None

    def command(self, language: str) -> list[str]:
        """The espeak-ng command line for `language`: voice, speed, UTF-8 text on stdin."""
        voice = VOICES.get(language, language)
        return [str(self.executable), "-v", voice, "-s", str(SPEED), "-b", "1", "--stdin"]

    def say(self, text: str, language: str) -> None:
        if not self.available or not text.strip():
            return
        self.stop()
        try:
            process = self._popen(self.command(language), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            assert process.stdin is not None  # stdin=PIPE
            process.stdin.write(text.encode("utf-8"))
            process.stdin.close()
        except OSError as error:  # a broken install must not stop the kiosk
            log.warning("read-aloud failed: %s", error)
            return
        self._speaking = process

    def stop(self) -> None:
        """Stop speaking (a new page, or the session is wiped)."""
        if self._speaking is not None and self._speaking.poll() is None:
            try:
                self._speaking.terminate()
            except OSError:
                pass
        self._speaking = None
