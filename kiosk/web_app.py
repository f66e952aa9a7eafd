"""The kiosk as one browser tab runs it (`assist kiosk serve`, kiosk/web.py): the same app, pages,
lock-down, timeouts and wipe, less the staff pages, and bound to the server that started it.

Read-aloud is off too: espeak-ng would speak on the server's loudspeaker, not at the resident's PC.
F9 is off: a volunteer's PIN typed into a public PC's browser could be watched or recorded by it,
and the staff dashboard shows other residents' requests. The tab's process ends with its tab: the
server asks it to quit when the tab's websocket closes (textual-serve's "quit", which Textual turns
into an exit); should the server itself die without asking, this process notices its parent is gone
within a second and leaves, wiping the visit, rather than living on as an orphan.

A timeout ends the tab's kiosk too, where the library's own kiosk starts again, and the first page
times out like any other: a tab left open on a public PC would otherwise hold one of the few places
(`kiosk.web_max_sessions`) for ever. The page then says the session has ended, with Start again.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from kiosk.app import KioskApp
from kiosk.speech import Speaker
from sync.config import Settings
from sync.store import Store

log = logging.getLogger(__name__)

#: How often a tab's kiosk checks that the server that started it is still there.
PARENT_CHECK_SECONDS = 1


class WebKioskApp(KioskApp):
    #: Beside kiosk.tcss: the top bar's Volunteer button is not drawn (F9 is refused as well).
    CSS = "#volunteer { display: none; }"

    def __init__(self, settings: Settings, store: Store, **options: Any) -> None:
        options.setdefault("speaker", Speaker(find=lambda name: None))  # none: no "Read aloud", no F3
        super().__init__(settings, store, **options)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "volunteer":
            return False
        return super().check_action(action, parameters)

    @property
    def active(self) -> bool:
        """Every page times out, the first one too: an idle tab gives its place back."""
        return True

    async def restart(self, reason: str, **options: Any) -> None:
        if reason == "timeout":
            log.info("kiosk web session timed out: answers cleared, place given back")
            self.leave()
            return
        await super().restart(reason, **options)

    def on_mount(self) -> None:
        """Beside the kiosk's own start (Textual runs KioskApp.on_mount as well): watch the server."""
        self.server_pid = os.getppid()
        self.set_interval(PARENT_CHECK_SECONDS, self.check_server, name="kiosk-web-parent")

    def check_server(self) -> None:
        if os.getppid() != self.server_pid:
            log.info("kiosk web session stopping: its server has gone")
            self.leave()
